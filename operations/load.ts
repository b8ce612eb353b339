import { readFileSync } from 'node:fs';
import { Kind, parse, print, visit, type ASTNode, type DocumentNode, type FragmentDefinitionNode } from 'graphql';

const document: DocumentNode = parse(readFileSync(new URL('./bulk-import.graphql', import.meta.url), 'utf8'));
const fragments = new Map(
  document.definitions
    .filter((definition): definition is FragmentDefinitionNode => definition.kind === Kind.FRAGMENT_DEFINITION)
    .map((fragment) => [fragment.name.value, fragment]),
);

/**
 * The operation named `name` from `bulk-import.graphql`, with the fragments it uses, as query
 * text ready to send. Tests and the demo client take their documents from here.
 */
export function operation(name: string): string {
  const found = document.definitions.find((definition) => definition.kind === Kind.OPERATION_DEFINITION && definition.name?.value === name);
  if (!found) throw new Error(`no operation ${name} in operations/`);
  const used = new Map<string, FragmentDefinitionNode>();
  const collect = (node: ASTNode) =>
    visit(node, {
      FragmentSpread(spread) {
        const fragment = fragments.get(spread.name.value);
        if (fragment && !used.has(fragment.name.value)) {
          used.set(fragment.name.value, fragment);
          collect(fragment);
        }
      },
    });
  collect(found);
  return [found, ...used.values()].map((definition) => print(definition)).join('\n\n');
}
