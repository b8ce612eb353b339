import { type DocumentNode, type ExecutionArgs, type FragmentDefinitionNode, getOperationAST, Kind, type SelectionSetNode, valueFromASTUntyped } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import { GatewayError } from '../../errors/gateway-error.js';
import { ResponseBudget } from '../../lib/response-budget.js';
import type { OperationContext } from '../operation-context.js';

export interface OperationLimits {
  /** Most cost units one operation may ask for (fields, multiplied by the lists they return). */
  maxCost: number;
  /** Most representations one `_entities` call may carry (each is one upstream request). */
  maxEntities: number;
  /** Most records one `stageImport` may carry: checked on the raw variables, before any record is coerced. */
  maxRecordsPerStage: number;
  /** Most bytes of upstream answers one query or mutation may gather. */
  maxResponseBytes: number;
}

/**
 * Limits that depend on the variables, checked when an operation is about to run (on every
 * transport: HTTP, SSE and WebSocket all execute through the envelop), before any resolver or
 * upstream call:
 *
 * - **Cost with lists counted.** Every field costs 1, and the fields under a list argument cost
 *   once per item they ask for: `_entities(representations)` per representation,
 *   `failedRecords(limit)` per record. `_entities` of 100 imports with `failedRecords(limit: 1000)`
 *   each is 100,000 records' worth — refused, where a field count would see a dozen fields.
 * - **`_entities` size.** Each representation is one upstream read.
 * - **Records per stage**, from the raw variable, before graphql-js builds a value of each.
 * - **A response budget** for queries and mutations: resolvers charge what upstream answers they
 *   read against it (`ctx.responseBudget`), so no request of a few kilobytes can make the gateway
 *   gather hundreds of megabytes.
 */
export function useOperationLimits(limits: OperationLimits): Plugin<OperationContext> {
  const check = (args: ExecutionArgs): GatewayError | undefined => {
    try {
      const operation = getOperationAST(args.document, args.operationName);
      if (!operation) return undefined; // graphql-js reports it
      const walker = new CostWalker(args.document, args.variableValues ?? {}, limits);
      const cost = walker.cost(operation.selectionSet, 1);
      if (cost > limits.maxCost) {
        return new GatewayError('BAD_USER_INPUT', 'Operation rejected: it would cost too much to run (lists count once per item they ask for).', {
          reason: 'COST_LIMIT',
        });
      }
    } catch (error) {
      if (error instanceof GatewayError) return error;
      throw error;
    }
    return undefined;
  };
  return {
    onExecute: ({ args, setResultAndStopExecution, extendContext }) => {
      const refused = check(args);
      if (refused) return setResultAndStopExecution({ errors: [refused] });
      extendContext({ responseBudget: new ResponseBudget(limits.maxResponseBytes) });
    },
    onSubscribe: ({ args, setResultAndStopExecution }) => {
      const refused = check(args);
      if (refused) setResultAndStopExecution({ errors: [refused] });
    },
  };
}

/**
 * Fields whose argument says how many items they return: `_entities` is the list itself; a
 * `failedRecords` page holds up to `limit` of its `records`.
 */
const LIST_ARGUMENTS: Readonly<Record<string, { argument: string; fallback: number; items?: string }>> = {
  _entities: { argument: 'representations', fallback: 0 },
  failedRecords: { argument: 'limit', fallback: 100, items: 'records' },
};

class CostWalker {
  readonly #fragments = new Map<string, FragmentDefinitionNode>();

  constructor(
    document: DocumentNode,
    private readonly variables: Readonly<Record<string, unknown>>,
    private readonly limits: OperationLimits,
  ) {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.FRAGMENT_DEFINITION) this.#fragments.set(definition.name.value, definition);
    }
  }

  /**
   * The cost of `selectionSet` asked `multiplier` times; `itemsField` (with its `items`) is the
   * sub-field that multiplier grows for. Validation has refused fragment cycles already.
   */
  cost(selectionSet: SelectionSetNode, multiplier: number, itemsField?: { name: string; items: number }): number {
    let total = 0;
    for (const selection of selectionSet.selections) {
      if (selection.kind === Kind.INLINE_FRAGMENT) {
        total += this.cost(selection.selectionSet, multiplier, itemsField);
      } else if (selection.kind === Kind.FRAGMENT_SPREAD) {
        const fragment = this.#fragments.get(selection.name.value);
        if (fragment) total += this.cost(fragment.selectionSet, multiplier, itemsField);
      } else {
        const name = selection.name.value;
        total += multiplier;
        if (selection.selectionSet) {
          // What is under a list is asked once per item: the field's own list, or the items field its parent named.
          const items = itemsField?.name === name ? itemsField.items : this.#items(name, selection.arguments ?? []);
          const list = LIST_ARGUMENTS[name];
          total += list?.items
            ? this.cost(selection.selectionSet, multiplier, { name: list.items, items })
            : this.cost(selection.selectionSet, multiplier * items);
        }
      }
      // Stop counting as soon as the answer is known: a hostile document can be long.
      if (total > this.limits.maxCost) return total;
    }
    return total;
  }

  /** How many items a field asks for (1 unless it has a list argument), checking the per-field limits. */
  #items(field: string, args: ReadonlyArray<{ name: { value: string }; value: Parameters<typeof valueFromASTUntyped>[0] }>): number {
    if (field === 'stageImport') {
      const records = this.#argument(args, 'records');
      if (Array.isArray(records) && records.length > this.limits.maxRecordsPerStage) {
        throw new GatewayError(
          'BAD_USER_INPUT',
          `records may contain at most ${this.limits.maxRecordsPerStage} records per call; stage them in several calls.`,
          {
            argument: 'records',
          },
        );
      }
      return 1;
    }
    const list = LIST_ARGUMENTS[field];
    if (!list) return 1;
    const value = this.#argument(args, list.argument);
    if (field === '_entities') {
      const count = Array.isArray(value) ? value.length : 0;
      if (count > this.limits.maxEntities) {
        throw new GatewayError('BAD_USER_INPUT', `_entities may resolve at most ${this.limits.maxEntities} representations at once.`, {
          argument: 'representations',
          reason: 'TOO_MANY_ENTITIES',
        });
      }
      return Math.max(1, count);
    }
    return typeof value === 'number' && Number.isFinite(value) ? Math.max(1, Math.floor(value)) : list.fallback;
  }

  #argument(args: ReadonlyArray<{ name: { value: string }; value: Parameters<typeof valueFromASTUntyped>[0] }>, name: string): unknown {
    const node = args.find((arg) => arg.name.value === name);
    if (!node) return undefined;
    // A variable is looked up as the client sent it: no coercion, so no record is built yet.
    if (node.value.kind === Kind.VARIABLE) return this.variables[node.value.name.value];
    if (node.value.kind === Kind.LIST) return node.value.values;
    return valueFromASTUntyped(node.value, this.variables);
  }
}
