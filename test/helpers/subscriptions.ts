import type { FormattedExecutionResult } from 'graphql';
import type { Client } from 'graphql-ws';
import { type Operation, queryText } from './graphql.js';

export interface Recorded {
  results: FormattedExecutionResult<Record<string, any>, unknown>[];
  /** Resolves when the server completes the subscription (or rejects on a protocol error). */
  done: Promise<void>;
  /** Resolves when `count` results have arrived. */
  received(count: number): Promise<void>;
  /** Completes the subscription from the client side. */
  unsubscribe(): void;
}

/** Subscribes over graphql-ws and records every result, for tests that wait on events. */
export function record(client: Client, operation: Operation, variables: Record<string, unknown>): Recorded {
  const results: Recorded['results'] = [];
  const waiters: Array<{ count: number; resolve: () => void }> = [];
  let unsubscribe = () => {};
  const done = new Promise<void>((resolve, reject) => {
    unsubscribe = client.subscribe<Record<string, any>>(
      { query: queryText(operation), variables },
      {
        next: (result) => {
          results.push(result);
          for (const waiter of waiters.filter((w) => results.length >= w.count)) {
            waiters.splice(waiters.indexOf(waiter), 1);
            waiter.resolve();
          }
        },
        error: (error) => reject(error instanceof Error ? error : new Error(JSON.stringify(error))),
        complete: () => resolve(),
      },
    );
  });
  done.catch(() => undefined); // observed by the test through `done`, when it cares
  return {
    results,
    done,
    unsubscribe: () => unsubscribe(),
    received: (count) => (results.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ count, resolve }))),
  };
}

/** The `importStatus` payloads of a recording, as `STATUS:processed` strings. */
export function statusSequence(recorded: Recorded): string[] {
  return recorded.results.map((result) => {
    const state = result.data?.['importStatus'];
    return state ? `${state.status}:${state.processed}` : `error:${result.errors?.[0]?.extensions?.['code']}`;
  });
}

/**
 * Whether a `statusSequence` never repeats a state and never goes back in processed records:
 * what every subscriber must see, whatever faults or failovers happened on the way.
 */
export function isForwardOnly(sequence: readonly string[]): boolean {
  const processed = sequence.map((entry) => Number(entry.split(':')[1]));
  return new Set(sequence).size === sequence.length && processed.every((value, i) => i === 0 || value >= processed[i - 1]!);
}
