import type { Redis } from 'ioredis';

/**
 * The lease protocol, as Lua scripts so each step is atomic in Redis.
 *
 * - acquire: take the lease if nobody holds it, with a new fencing token (`INCR fence`).
 * - renew: extend the lease only if it still holds our `replicaId:fence` value.
 * - release: delete the lease only if it is still ours.
 * - publish: only the current holder (same value) may publish; the event gets the next sequence
 *   number, becomes the stored latest state (with a TTL) and goes out on the channel. A holder
 *   that paused past its lease and lost it is refused here, so it cannot publish stale data.
 */
const ACQUIRE = `
if redis.call('EXISTS', KEYS[1]) == 1 then return false end
local fence = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. fence, 'PX', ARGV[2])
return fence`;

const RENEW = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1`;

const RELEASE = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1`;

const PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
local seq = redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
local message = '{"seq":' .. seq .. ',"event":' .. ARGV[2] .. '}'
redis.call('SET', KEYS[3], message, 'PX', ARGV[3])
redis.call('PUBLISH', KEYS[4], message)
return seq`;

export interface LeaseScripts {
  /** The fencing token when the lease was taken, null when someone else holds it. */
  acquire(lease: string, fence: string, replicaId: string, leaseMs: number, keepMs: number): Promise<number | null>;
  renew(lease: string, holder: string, leaseMs: number): Promise<boolean>;
  release(lease: string, holder: string): Promise<boolean>;
  /** The event's sequence number, or 0 when `holder` no longer holds the lease. */
  publish(names: { lease: string; sequence: string; state: string; events: string }, holder: string, eventJson: string, stateTtlMs: number): Promise<number>;
}

export function leaseScripts(redis: Redis): LeaseScripts {
  redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('leaseRelease', { numberOfKeys: 1, lua: RELEASE });
  redis.defineCommand('leasePublish', { numberOfKeys: 4, lua: PUBLISH });
  const call = redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>;
  return {
    acquire: async (lease, fence, replicaId, leaseMs, keepMs) => {
      const token = await call['leaseAcquire']!(lease, fence, replicaId, leaseMs, keepMs);
      return typeof token === 'number' ? token : null;
    },
    renew: async (lease, holder, leaseMs) => (await call['leaseRenew']!(lease, holder, leaseMs)) === 1,
    release: async (lease, holder) => (await call['leaseRelease']!(lease, holder)) === 1,
    publish: async (names, holder, eventJson, stateTtlMs) =>
      Number(await call['leasePublish']!(names.lease, names.sequence, names.state, names.events, holder, eventJson, stateTtlMs, stateTtlMs)),
  };
}
