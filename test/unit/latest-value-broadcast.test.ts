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

  describe('fan-out in slices', () => {
    const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));
    /** A clock on which every slice takes `msPerSlice`, whatever its size. */
    const clockTaking = (msPerSlice: number) => {
      let now = 0;
      let reads = 0;
      // Read twice per slice: when it starts and when the next turn sizes the one after it.
      return () => {
        if (reads++ % 2 === 1) now += msPerSlice;
        return now;
      };
    };
    /** Listeners that note the values they read, each reading as soon as it is handed one. */
    function readers(broadcast: LatestValueBroadcast<number>, count: number) {
      return Array.from({ length: count }, () => {
        const listener = broadcast.listen();
        const seen: number[] = [];
        void (async () => {
          for await (const value of listener) seen.push(value);
        })();
        return seen;
      });
    }

    it('hands a value to one slice per turn of the event loop, so the loop is never held for the whole fan-out', async () => {
      const broadcast = new LatestValueBroadcast<number>({ firstSliceSize: 100, sliceBudgetMs: 10, clock: clockTaking(10) });
      const seen = readers(broadcast, 250);
      broadcast.publish(1);
      await Promise.resolve(); // microtasks of this turn only
      await Promise.resolve();
      expect(seen.filter((values) => values.length === 1)).toHaveLength(100);
      await nextTurn();
      expect(seen.filter((values) => values.length === 1)).toHaveLength(200);
      await nextTurn();
      expect(seen.every((values) => values.join() === '1')).toBe(true);
      expect(broadcast.pushed).toBe(250);
    });

    it('sizes each slice to the budget at the pace of the slice before', async () => {
      // The first slice of 200 takes 20 ms against a budget of 10: the next one is 100.
      const broadcast = new LatestValueBroadcast<number>({ firstSliceSize: 200, sliceBudgetMs: 10, clock: clockTaking(20) });
      const seen = readers(broadcast, 1000);
      const reached = () => seen.filter((values) => values.length === 1).length;
      broadcast.publish(1);
      await Promise.resolve();
      await Promise.resolve();
      expect(reached()).toBe(200);
      await nextTurn();
      expect(reached()).toBe(300);
      await nextTurn();
      expect(reached()).toBe(350);
    });

    it('gives the listeners not reached yet only the newer value when one is published mid-fan-out', async () => {
      const broadcast = new LatestValueBroadcast<number>({ firstSliceSize: 100, sliceBudgetMs: 10, clock: clockTaking(10) });
      const seen = readers(broadcast, 250);
      broadcast.publish(1);
      await Promise.resolve();
      broadcast.publish(2);
      await nextTurn();
      await nextTurn();
      await nextTurn();
      expect(seen.slice(0, 100).every((values) => values.join() === '1,2')).toBe(true);
      expect(seen.slice(100).every((values) => values.join() === '2')).toBe(true);
    });

    it('hands nothing to a listener that left before its slice came', async () => {
      const broadcast = new LatestValueBroadcast<number>({ firstSliceSize: 100, sliceBudgetMs: 10, clock: clockTaking(10) });
      const listeners = Array.from({ length: 250 }, () => broadcast.listen());
      broadcast.publish(1);
      await listeners[200]!.return();
      await nextTurn();
      await nextTurn();
      expect(broadcast.pushed).toBe(249);
      expect(broadcast.size).toBe(249);
    });

    it('lets end() deliver the last value to everyone first, then complete them', async () => {
      const broadcast = new LatestValueBroadcast<number>({ firstSliceSize: 10 });
      const listeners = Array.from({ length: 25 }, () => broadcast.listen());
      broadcast.publish(7);
      broadcast.end();
      for (const listener of listeners) {
        expect(await listener.next()).toEqual({ value: 7, done: false });
        expect((await listener.next()).done).toBe(true);
      }
    });

    it('ends its listeners only once the fan-out under way has reached them all, in slices of their own, then says it has ended', async () => {
      let endedAt: number | undefined;
      let turn = 0;
      const events: Array<{ kind: 'push' | 'end'; turn: number }> = [];
      const broadcast = new LatestValueBroadcast<number>({
        firstSliceSize: 100,
        sliceBudgetMs: 10,
        clock: clockTaking(10),
        onEnded: () => (endedAt = events.length),
      });
      // Listeners that deliver values themselves (as a WebSocket operation's frames are written).
      for (let i = 0; i < 250; i++) {
        broadcast.attach((detached) => ({
          coalesced: 0,
          push: () => events.push({ kind: 'push', turn }),
          end: () => {
            events.push({ kind: 'end', turn });
            detached();
          },
        }));
      }
      broadcast.publish(1);
      broadcast.end();
      for (; endedAt === undefined && turn < 20; turn++) await nextTurn();

      const pushes = events.filter((event) => event.kind === 'push');
      const ends = events.filter((event) => event.kind === 'end');
      expect([pushes.length, ends.length]).toEqual([250, 250]);
      // Every listener has the last value before any is ended, and the ending waited for the fan-out's turns.
      expect(events.findIndex((event) => event.kind === 'end')).toBe(250);
      expect(ends[0]!.turn).toBeGreaterThan(0);
      // The ending is sliced too, and onEnded comes after the last listener ended.
      expect(new Set(ends.map((event) => event.turn)).size).toBeGreaterThan(1);
      expect(endedAt).toBe(500);
      expect(broadcast.size).toBe(0);
    });
  });
});
