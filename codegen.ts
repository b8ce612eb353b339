import type { CodegenConfig } from '@graphql-codegen/cli';

const typesConfig = {
  useTypeImports: true,
  enumsAsTypes: true,
  avoidOptionals: { field: true, inputValue: false, object: false, defaultValue: false },
  scalars: {
    ID: { input: 'string | number', output: 'string' },
    DateTime: 'string',
    JSONObject: 'Record<string, unknown>',
  },
};

/**
 * Typed documents for the operations in `operations/` (used by the tests and `npm run demo`),
 * generated from the committed `schema.graphql`. CI regenerates and fails on any drift.
 *
 * The command line (`src/cli/`) is compiled with `src/` only (`tsconfig.build.json`), so it gets
 * its own copy of the import-job documents inside `src/`, as strings: sent as they are, no
 * `graphql` parse or print at run time.
 */
const config: CodegenConfig = {
  schema: 'schema.graphql',
  generates: {
    'operations/generated.ts': {
      documents: ['operations/**/*.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: typesConfig,
    },
    'src/cli/generated.ts': {
      documents: ['operations/import-jobs.graphql'],
      plugins: ['typescript-operations', 'typed-document-node'],
      config: { ...typesConfig, documentMode: 'string' },
    },
  },
  hooks: {},
};

export default config;
