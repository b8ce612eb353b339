import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createDrain, type DrainSteps } from '../../src/gateway/drain.js';
import { createLogger } from '../../src/logger.js';

/**
 * The drain's order and deadline, on fake timers: each step is a recorder, the HTTP server one
 * whose `close` resolves only when the test says its last request finished.
 */
function recordingSteps(options: { windowTakesMs: number }) {
  const calls: string[] = [];
  let finishLastRequest = () => {};
  const steps: DrainSteps = {
    stopAccepting: () => calls.push('stopAccepting'),
    websocket: {
      connections: 3,
      closeGradually: (windowMs) => {
        calls.push(`closeGradually(${windowMs})`);
        return new Promise((resolve) => setTimeout(resolve, options.windowTakesMs));
      },
      dispose: async () => {
        calls.push('websocket.dispose');
      },
    },
    endSubscriptions: () => calls.push('endSubscriptions'),
    server: {
      close: ((done: () => void) => {
        calls.push('server.close');
        finishLastRequest = done;
      }) as never,
      closeIdleConnections: () => calls.push('closeIdleConnections'),
      closeAllConnections: () => {
        calls.push('closeAllConnections');
        finishLastRequest();
      },
    },
    release: ['cluster', 'upstream', 'yoga'].map((name) => async () => {
      calls.push(`release ${name}`);
    }),
    logger: createLogger('silent'),
    timers: { setTimeout: (callback, ms) => setTimeout(callback, ms), clearTimeout: (handle) => clearTimeout(handle as never), now: () => Date.now() },
  };
  return { steps, calls, finishLastRequest: () => finishLastRequest() };
}

describe('createDrain', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('stops accepting first, closes WebSockets over the window, then subscriptions and the server, and releases shared parts last', async () => {
    const { steps, calls, finishLastRequest } = recordingSteps({ windowTakesMs: 1_000 });
    const drained = createDrain(steps)({ windowMs: 1_000, deadlineMs: 5_000 });
    expect(calls).toEqual(['stopAccepting', 'closeGradually(1000)']);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(calls.slice(2)).toEqual(['endSubscriptions', 'websocket.dispose', 'server.close', 'closeIdleConnections']);
    finishLastRequest(); // the last in-flight request ends well before the deadline
    await drained;
    expect(calls.slice(6)).toEqual(['release cluster', 'release upstream', 'release yoga']);
    expect(vi.getTimerCount()).toBe(0); // the deadline timer was cleared
  });

  it('cuts the requests still running at the deadline, counted from the start of the drain', async () => {
    const { steps, calls } = recordingSteps({ windowTakesMs: 2_000 });
    const drained = createDrain(steps)({ windowMs: 2_000, deadlineMs: 5_000 });
    await vi.advanceTimersByTimeAsync(2_000);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(calls).not.toContain('closeAllConnections');
    await vi.advanceTimersByTimeAsync(1);
    await drained;
    expect(calls).toContain('closeAllConnections');
    expect(calls.at(-1)).toBe('release yoga');
  });

  it("runs once: a second call returns the first one's drain", async () => {
    const { steps, calls, finishLastRequest } = recordingSteps({ windowTakesMs: 0 });
    const drain = createDrain(steps);
    const first = drain({ windowMs: 0, deadlineMs: 1_000 });
    expect(drain({ windowMs: 10, deadlineMs: 20 })).toBe(first);
    await vi.advanceTimersByTimeAsync(0);
    finishLastRequest();
    await first;
    expect(calls.filter((call) => call === 'stopAccepting')).toHaveLength(1);
  });
});
