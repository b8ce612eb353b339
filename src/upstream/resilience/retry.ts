import type { GatewayError } from '../../errors/gateway-error.js';

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
