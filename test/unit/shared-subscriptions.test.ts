import type { ExecutionResult } from 'graphql';
import { describe, expect, it } from 'vitest';
import { LatestValueListener } from '../../src/lib/latest-value-listener.js';
import { SharedSubscriptions } from '../../src/transport/shared-subscriptions.js';

/** An execution the test drives: a latest-value listener standing in for graphql-js' result stream. */
function execution() {
  let returned = 0;
  const source = new LatestValueListener<ExecutionResult>(() => returned++);
  return { source, returned: () => returned };
}

const result = (n: number): ExecutionResult => ({ data: { n } });

describe('SharedSubscriptions', () => {
  it('starts one execution per key, fans its results out, and stops it when the last subscriber leaves', async () => {
    const shared = new SharedSubscriptions();
    const { source, returned } = execution();
    let starts = 0;
    const start = () => {
      starts++;
      return source;
    };
    const first = (await shared.subscribe('k', start)) as AsyncIterableIterator<ExecutionResult>;
    source.push(result(1));
    expect((await first.next()).value).toEqual(result(1));
    const late = (await shared.subscribe('k', start)) as AsyncIterableIterator<ExecutionResult>;
    expect((await late.next()).value).toEqual(result(1)); // the last result, at once
    expect(starts).toBe(1);

    source.push(result(2));
    expect((await first.next()).value).toEqual(result(2));
    expect((await late.next()).value).toEqual(result(2));
    expect(shared.stats()).toMatchObject({ groups: 1, subscribers: 2, produced: 2, pushed: 4 });

    await first.return!();
    expect(returned()).toBe(0);
    await late.return!();
    expect(returned()).toBe(1);
    expect(shared.stats()).toMatchObject({ groups: 0, subscribers: 0 });
  });

  it('keeps different keys apart and passes a non-stream outcome (an error result) through unshared', async () => {
    const shared = new SharedSubscriptions();
    const a = execution();
    const b = execution();
    const forA = (await shared.subscribe('a', () => a.source)) as AsyncIterableIterator<ExecutionResult>;
    const forB = (await shared.subscribe('b', () => b.source)) as AsyncIterableIterator<ExecutionResult>;
    a.source.push(result(1));
    b.source.push(result(2));
    expect((await forA.next()).value).toEqual(result(1));
    expect((await forB.next()).value).toEqual(result(2));
    const failure: ExecutionResult = { errors: [] };
    expect(await shared.subscribe('c', () => failure)).toBe(failure);
    await forA.return!();
    await forB.return!();
  });

  it('ends every subscriber, after the final result, when the execution completes', async () => {
    const shared = new SharedSubscriptions();
    const { source } = execution();
    const subscribers = await Promise.all([1, 2, 3].map(() => shared.subscribe('k', () => source)));
    source.push(result(9));
    source.end();
    for (const subscriber of subscribers as AsyncIterableIterator<ExecutionResult>[]) {
      expect(await subscriber.next()).toEqual({ value: result(9), done: false });
      expect((await subscriber.next()).done).toBe(true);
    }
    expect(shared.stats().groups).toBe(0);
  });

  it('completes its subscribers and reports the error when an execution stream fails', async () => {
    const errors: unknown[] = [];
    const shared = new SharedSubscriptions({ onError: (error) => errors.push(error) });
    async function* failing(): AsyncGenerator<ExecutionResult> {
      yield result(1);
      throw new Error('stream broke');
    }
    const subscriber = (await shared.subscribe('k', () => failing())) as AsyncIterableIterator<ExecutionResult>;
    const seen: ExecutionResult[] = [];
    for await (const value of subscriber) seen.push(value);
    expect(seen).toEqual([result(1)]);
    expect(errors).toHaveLength(1);
    expect(shared.stats().groups).toBe(0);
  });
});
