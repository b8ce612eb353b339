import type { GatewayError } from '../../errors/gateway-error.js';

/**
 * Exponential backoff with "equal jitter": the `attempt`-th wait is half fixed, half random, of
 * `base · 2^(attempt-1)` capped at `max`; the upstream's Retry-After lengthens it, but never past
 * `max` either: an upstream that says "come back tomorrow" (or a number Node's timers overflow
 * on) must not silence a subscription for a day, nor make it spin.
 */
export function backoffDelay(attempt: number, baseMs: number, maxMs: number, retryAfterSeconds: number | undefined, random: () => number): number {
  const ceiling = Math.min(maxMs, baseMs * 2 ** Math.min(attempt - 1, 30));
  const backoff = Math.round(ceiling / 2 + (ceiling / 2) * random());
  return Math.min(maxMs, Math.max(backoff, (retryAfterSeconds ?? 0) * 1000));
}

/** Failures of the gateway's own making: retrying them upstream-side changes nothing. */
const LOCAL_REASONS = new Set(['CIRCUIT_OPEN', 'BUDGET_EXHAUSTED', 'SHUTTING_DOWN', 'RESPONSE_TOO_LARGE']);

/** 5xx, 429, timeouts, broken connections, a garbled answer: worth another try for a read. */
export function isTransient(error: GatewayError): boolean {
  if (error.code === 'RATE_LIMITED') return true;
  return error.code === 'UPSTREAM_UNAVAILABLE' && !LOCAL_REASONS.has(error.details.reason ?? '');
}

/** Failures where the request certainly never reached the upstream: safe to retry even a POST. */
export function neverSent(error: GatewayError): boolean {
  return error.details.reason === 'CONNECTION_REFUSED' || error.details.reason === 'CONNECT_TIMEOUT' || error.details.reason === 'DNS';
}

/** The upstream answered, just not as the contract says: a bug to report, not an outage. */
const ANSWERED_REASONS = new Set(['MALFORMED_RESPONSE', 'UNKNOWN_STATUS']);

/** Failures that say the upstream is unhealthy (they count towards opening the circuit). */
export function isUpstreamFault(error: GatewayError): boolean {
  return error.code === 'UPSTREAM_UNAVAILABLE' && !LOCAL_REASONS.has(error.details.reason ?? '') && !ANSWERED_REASONS.has(error.details.reason ?? '');
}
