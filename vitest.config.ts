import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    // graphql 16 ships CJS (`main`) and ESM (`module`) builds. Node, and so yoga and Pothos, load
    // the CJS one; Vite would hand our files the ESM one, and two GraphQLError classes break
    // `instanceof` (coded errors would be masked). Everyone gets the build Node picks.
    alias: [{ find: /^graphql$/, replacement: 'graphql/index.js' }],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    teardownTimeout: 10_000,
  },
});
