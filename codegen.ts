import type { CodegenConfig } from '@graphql-codegen/cli';

/**
 * Typed documents for the operations in `operations/` (used by the tests and `npm run demo`),
 * generated from the committed `schema.graphql`. CI regenerates and fails on any drift.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  documents: ['operations/**/*.graphql'],
  generates: {
    'operations/generated.ts': {
      plugins: ['typescript-operations', 'typed-document-node'],
      config: {
        useTypeImports: true,
        enumsAsTypes: true,
        avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
        scalars: {
          ID: { input: 'string | number', output: 'string' },
          DateTime: 'string',
          JSONObject: 'Record<string, unknown>',
        },
      },
    },
  },
  hooks: {},
};

export default config;
