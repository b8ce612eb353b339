import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { callAt } from '../../src/lib/long-timeout.js';

const DAY_MS = 86_400_000;

describe('callAt', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: new Date('2026-01-01T00:00:00Z') });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('waits beyond the 24.8 days one setTimeout can hold, and fires at the time, not before', () => {
    const fired = vi.fn();
    callAt(Date.now() + 60 * DAY_MS, fired);
    vi.advanceTimersByTime(59 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(DAY_MS - 1);
    expect(fired).not.toHaveBeenCalled();
    vi.advanceTimersByTime(1);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('fires at once for a time already passed', () => {
    const fired = vi.fn();
    callAt(Date.now() - 1, fired);
    expect(fired).toHaveBeenCalledTimes(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('never fires once cancelled, even after a re-arm', () => {
    const fired = vi.fn();
    const cancel = callAt(Date.now() + 30 * DAY_MS, fired);
    vi.advanceTimersByTime(25 * DAY_MS); // past the first timer: re-armed
    cancel();
    vi.advanceTimersByTime(10 * DAY_MS);
    expect(fired).not.toHaveBeenCalled();
    expect(vi.getTimerCount()).toBe(0);
  });
});
