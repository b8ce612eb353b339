import SchemaBuilder from '@pothos/core';
// Order matters: the federation plugin needs the directives plugin before it, or `@key` vanishes.
import DirectivePlugin from '@pothos/plugin-directives';
import FederationPlugin from '@pothos/plugin-federation';
import type { ResolverContext } from '../resolvers/context.js';
import { DateTimeScalar, JSONObjectScalar } from './scalars.js';

/** The one Pothos builder: plugins, scalars and the Context type. Domain files add types to it. */
export const builder = new SchemaBuilder<{
  Context: ResolverContext;
  DefaultFieldNullability: false;
  Scalars: {
    ID: { Input: string; Output: string | number };
    DateTime: { Input: Date; Output: Date };
    JSONObject: { Input: Record<string, unknown>; Output: Record<string, unknown> };
  };
}>({
  plugins: [DirectivePlugin, FederationPlugin],
  defaultFieldNullability: false,
});

builder.addScalarType('DateTime', DateTimeScalar);
builder.addScalarType('JSONObject', JSONObjectScalar);

builder.queryType({ description: 'Read the state of bulk imports.' });
builder.mutationType({ description: 'Drive a bulk import: initiate it, stage records, execute it.' });
