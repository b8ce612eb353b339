import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../../src/errors/gateway-error.js';
import { type SlotClass, UpstreamBudget } from '../../src/upstream/resilience/budget.js';
import { type ManualTimers, manualTimers } from '../helpers/manual-timers.js';

/**
 * The upstream budget alone, on a manual clock: per-clientId queues served in turn, the cap on a
 * clientId's slots, the order of classes within a clientId, and nothing left behind by callers
 * that give up.
 */

interface Grant {
  clientId: string;
  label: string;
  release: () => void;
}

function budget(options: { maxConcurrent: number; maxPerClient?: number; maxPerSecond?: number }, timers: ManualTimers = manualTimers()) {
  const upstream = new UpstreamBudget({ maxPerSecond: 1_000, ...options, timers });
  const granted: Grant[] = [];
  const refused: Array<{ label: string; error: unknown }> = [];
  const ask = (clientId: string, label: string, slotClass: SlotClass = 'read', maxWaitMs = Infinity, signal?: AbortSignal) =>
    upstream.acquire(clientId, slotClass, maxWaitMs, signal).then(
      (release) => {
        granted.push({ clientId, label, release });
      },
      (error: unknown) => {
        refused.push({ label, error });
      },
    );
  /** Releases the oldest grant still held and lets the next waiter through. */
  const releaseFirst = async () => {
    const grant = granted.find((g) => !(g as { released?: boolean }).released)!;
    (grant as { released?: boolean }).released = true;
    grant.release();
    await flush();
  };
  return { upstream, granted, refused, ask, releaseFirst, timers };
}

const flush = () => new Promise<void>((resolve) => setImmediate(resolve));

describe('upstream budget', () => {
  it('serves waiting clientIds in turn: a tenant with 300 calls waiting delays another by one grant, not 300', async () => {
    const { granted, ask, releaseFirst } = budget({ maxConcurrent: 1 });
    void ask('evil', 'evil-0');
    for (let i = 1; i <= 300; i++) void ask('evil', `evil-${i}`);
    void ask('acme', 'acme-0');
    await flush();
    expect(granted.map((g) => g.label)).toEqual(['evil-0']);
    // evil's waiting started first, so its next call goes first; then acme's turn, not after 299 more.
    await releaseFirst();
    await releaseFirst();
    await releaseFirst();
    expect(granted.map((g) => g.label)).toEqual(['evil-0', 'evil-1', 'acme-0', 'evil-2']);
  });

  it('alternates between clientIds that both keep calls waiting', async () => {
    const { granted, ask, releaseFirst } = budget({ maxConcurrent: 1 });
    for (let i = 0; i < 3; i++) {
      void ask('a', `a${i}`);
      void ask('b', `b${i}`);
    }
    await flush();
    for (let i = 0; i < 5; i++) await releaseFirst();
    expect(granted.map((g) => g.label)).toEqual(['a0', 'b0', 'a1', 'b1', 'a2', 'b2']);
  });

  it("caps a clientId's slots in flight, leaving the rest to the others even while its calls hang", async () => {
    const { upstream, granted, ask } = budget({ maxConcurrent: 4, maxPerClient: 2 });
    for (let i = 0; i < 10; i++) void ask('evil', `evil-${i}`);
    await flush();
    expect(granted.map((g) => g.label)).toEqual(['evil-0', 'evil-1']);
    expect(upstream.inFlightOf('evil')).toBe(2);
    void ask('acme', 'acme-0');
    void ask('acme', 'acme-1');
    void ask('acme', 'acme-2');
    await flush();
    expect(granted.map((g) => g.label)).toEqual(['evil-0', 'evil-1', 'acme-0', 'acme-1']);
    expect(upstream.waiting).toBe(9);
  });

  it("serves a clientId's writes first, then its polls of running imports, then its reads, then its polls of idle imports", async () => {
    const { granted, ask, releaseFirst } = budget({ maxConcurrent: 1 });
    void ask('acme', 'first', 'read');
    void ask('acme', 'idle-poll', 'idle-poll');
    void ask('acme', 'read', 'read');
    void ask('acme', 'poll', 'poll');
    void ask('acme', 'write', 'write');
    await flush();
    for (let i = 0; i < 4; i++) await releaseFirst();
    expect(granted.map((g) => g.label)).toEqual(['first', 'write', 'poll', 'read', 'idle-poll']);
  });

  it('fails a call that waited longer than it may with BUDGET_EXHAUSTED, and forgets it', async () => {
    const { upstream, refused, ask, timers } = budget({ maxConcurrent: 1 });
    void ask('acme', 'held');
    void ask('acme', 'impatient', 'read', 2_000);
    await flush();
    timers.advance(2_000);
    await flush();
    expect(refused.map((r) => [r.label, (r.error as GatewayError).details.reason])).toEqual([['impatient', 'BUDGET_EXHAUSTED']]);
    expect(upstream.waiting).toBe(0);
  });

  it('leaves nothing behind when waiting callers abort: no waiter, no timer, no clientId, no listener', async () => {
    const timers = manualTimers();
    const { upstream, granted, refused, ask, releaseFirst } = budget({ maxConcurrent: 1 }, timers);
    void ask('acme', 'held');
    const controllers = Array.from({ length: 5 }, () => new AbortController());
    controllers.forEach((controller, i) => void ask('evil', `gone-${i}`, 'read', 5_000, controller.signal));
    await flush();
    expect(upstream.waiting).toBe(5);
    for (const controller of controllers) controller.abort(new Error('caller left'));
    await flush();
    expect(refused.map((r) => (r.error as Error).message)).toEqual(Array(5).fill('caller left'));
    expect(upstream.waiting).toBe(0);
    expect(upstream.clients).toBe(1); // acme, holding its slot
    // Their wait timers are gone: moving the clock past them refuses nobody else.
    timers.advance(10_000);
    await flush();
    expect(refused).toHaveLength(5);
    await releaseFirst();
    expect(upstream.clients).toBe(0);
    expect(granted).toHaveLength(1);
  });

  it('removes its abort listener from a signal once the call is granted', async () => {
    const { ask, releaseFirst } = budget({ maxConcurrent: 1 });
    void ask('acme', 'held');
    const controller = new AbortController();
    void ask('acme', 'waits', 'read', 5_000, controller.signal);
    await flush();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    await releaseFirst();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });

  it('refuses at once a call whose signal has already aborted', async () => {
    const { upstream, refused, ask } = budget({ maxConcurrent: 1 });
    await ask('acme', 'late', 'read', 1_000, AbortSignal.abort(new Error('gone')));
    expect(refused.map((r) => (r.error as Error).message)).toEqual(['gone']);
    expect(upstream.clients).toBe(0);
  });

  it('shares the rate in turn too: out of tokens, the next one goes to the next clientId', async () => {
    const timers = manualTimers();
    const { granted, ask } = budget({ maxConcurrent: 100, maxPerSecond: 2 }, timers);
    for (let i = 0; i < 5; i++) void ask('evil', `evil-${i}`);
    void ask('acme', 'acme-0');
    await flush();
    expect(granted.map((g) => g.label)).toEqual(['evil-0', 'evil-1']);
    for (let i = 0; i < 3; i++) {
      timers.advance(500);
      await flush();
    }
    // evil-2 was waiting before acme-0; then acme's turn comes before evil's other two.
    expect(granted.map((g) => g.label)).toEqual(['evil-0', 'evil-1', 'evil-2', 'acme-0', 'evil-3']);
  });

  it('fails every waiter at close, with SHUTTING_DOWN', async () => {
    const { upstream, refused, ask } = budget({ maxConcurrent: 1 });
    void ask('acme', 'held');
    void ask('acme', 'a', 'poll');
    void ask('evil', 'b', 'read', 1_000);
    await flush();
    upstream.close();
    await flush();
    expect(refused.map((r) => [r.label, (r.error as GatewayError).details.reason])).toEqual([
      ['a', 'SHUTTING_DOWN'],
      ['b', 'SHUTTING_DOWN'],
    ]);
    expect(upstream.waiting).toBe(0);
  });
});
