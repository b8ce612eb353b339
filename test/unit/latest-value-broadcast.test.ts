import { describe, expect, it } from 'vitest';
import { LatestValueBroadcast } from '../../src/lib/latest-value-broadcast.js';

describe('LatestValueBroadcast', () => {
  it('hands every value to every listener, the last one to a joiner, and counts each hand-over once', async () => {
    const broadcast = new LatestValueBroadcast<number>();
    const early = broadcast.listen();
    broadcast.publish(1);
    const late = broadcast.listen();
    expect((await early.next()).value).toBe(1);
    expect((await late.next()).value).toBe(1); // the last value, at once
    broadcast.publish(2);
    expect((await early.next()).value).toBe(2);
    expect((await late.next()).value).toBe(2);
    expect({ size: broadcast.size, published: broadcast.published, pushed: broadcast.pushed, coalesced: broadcast.coalesced }).toEqual({
      size: 2,
      published: 2,
      pushed: 4,
      coalesced: 0,
    });
  });

  it('gives a slow listener only the newest value and keeps counting what it skipped after it leaves', async () => {
    const broadcast = new LatestValueBroadcast<number>();
    const slow = broadcast.listen();
    const fast = broadcast.listen();
    for (const value of [1, 2, 3]) {
      broadcast.publish(value);
      expect((await fast.next()).value).toBe(value);
    }
    expect((await slow.next()).value).toBe(3);
    expect(broadcast.coalesced).toBe(2);
    await slow.return!();
    expect(broadcast.size).toBe(1);
    expect(broadcast.coalesced).toBe(2);
  });

  it('tells when the last listener leaves, but not after end()', async () => {
    let left = 0;
    const open = new LatestValueBroadcast<number>({ onLastListenerLeft: () => left++ });
    const [a, b] = [open.listen(), open.listen()];
    await a.return!();
    expect(left).toBe(0);
    await b.return!();
    expect(left).toBe(1);

    const ended = new LatestValueBroadcast<number>({ onLastListenerLeft: () => left++ });
    const reader = ended.listen();
    ended.end();
    expect((await reader.next()).done).toBe(true);
    expect(left).toBe(1);
  });

  it('ends every listener after its unread value, ignores later values, and ends a late joiner after the last value', async () => {
    const broadcast = new LatestValueBroadcast<number>();
    const listener = broadcast.listen();
    broadcast.publish(7);
    broadcast.end();
    broadcast.publish(8);
    expect(await listener.next()).toEqual({ value: 7, done: false });
    expect((await listener.next()).done).toBe(true);
    const late = broadcast.listen();
    expect(await late.next()).toEqual({ value: 7, done: false });
    expect((await late.next()).done).toBe(true);
    expect(broadcast.published).toBe(1);
    expect(broadcast.size).toBe(0);
  });
});
