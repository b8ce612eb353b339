import { GatewayError } from '../../errors/gateway-error.js';
import type { SlotClass, UpstreamBudget } from './budget.js';
import type { CircuitBreakers } from './circuit-breaker.js';
import { isUpstreamFault } from './retry.js';

/**
 * One logical call, judged once by the circuit breaker of its clientId: admitted (or refused
 * fast, CIRCUIT_OPEN, while that circuit is open) before its first attempt, its final outcome
 * recorded after the last — a call retried three times is one failure, not three.
 */
export async function judgedByBreaker<T>(breakers: CircuitBreakers, clientId: string, call: () => Promise<T>): Promise<T> {
  const admission = breakers.admit(clientId);
  try {
    const result = await call();
    breakers.succeeded(admission);
    return result;
  } catch (error) {
    if (error instanceof GatewayError && isUpstreamFault(error)) breakers.failed(admission);
    // An answer, even a 4xx, says the upstream is up.
    else if (error instanceof GatewayError && error.details.upstreamStatus !== undefined) breakers.succeeded(admission);
    else breakers.neutral(admission);
    throw error;
  }
}

/**
 * Runs `request` in a slot of the upstream budget, in `clientId`'s queue: calls someone waits on
 * (`write`, `read`) wait at most `maxWaitMs` (then BUDGET_EXHAUSTED), polls as long as it takes.
 */
export async function withinBudget<T>(
  budget: UpstreamBudget,
  slot: { clientId: string; slotClass: SlotClass; maxWaitMs: number; signal?: AbortSignal | undefined },
  request: () => Promise<T>,
): Promise<T> {
  const polling = slot.slotClass === 'poll' || slot.slotClass === 'idle-poll';
  const release = await budget.acquire(slot.clientId, slot.slotClass, polling ? Infinity : slot.maxWaitMs, slot.signal);
  try {
    return await request();
  } finally {
    release();
  }
}
