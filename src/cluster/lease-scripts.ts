import type { Redis } from 'ioredis';
import type { KeyNames } from './redis-names.js';

/**
 * The lease protocol, as Lua scripts so each step is atomic in Redis.
 *
 * - acquire: take the lease if nobody holds it, with a new fencing token (`INCR fence`).
 * - renew: extend the lease only if it still holds our `replicaId:fence` value.
 * - release: delete the lease only if it is still ours. When no state is stored for the key, the
 *   fence and the sequence counter go too: nothing refers to them any more, and a key whose only
 *   event was an error leaves nothing behind.
 * - publish: only the current holder (same value) may publish; the event gets the next position
 *   (epoch, sequence number) and goes out on the channel, and a state (never an error) becomes
 *   the stored latest state, with a TTL. A holder that paused past its lease and lost it is
 *   refused here, so it cannot publish stale data.
 *
 * Dropping the fence counter is safe for fencing: the lease value starts with the replica id, a
 * random UUID per process, so a token handed out again by a recreated counter never makes another
 * replica's old value match. Within one replica a source's commands go out on one connection in
 * order, and a source acquires only while it holds nothing, so its own old value is never live.
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
if redis.call('EXISTS', KEYS[4]) == 0 then redis.call('DEL', KEYS[2], KEYS[3]) end
return 1`;

// The counter is a hash {epoch, seq} with one expiry. When there is none (the key's first event,
// or it expired with an idle key; or it is the plain counter an earlier version kept), it is
// created with a new epoch: the Redis time in µs, built as a string (Lua 5.1 would print a
// 16-digit number in exponent form). It is later than any epoch before it (unless the Redis
// host's clock steps back), so receivers take its sequence, which restarts at 1, as newer.
const PUBLISH = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
if redis.call('TYPE', KEYS[2]).ok ~= 'hash' then
  redis.call('DEL', KEYS[2])
  local now = redis.call('TIME')
  redis.call('HSET', KEYS[2], 'epoch', now[1] .. string.format('%06d', now[2]))
end
local seq = redis.call('HINCRBY', KEYS[2], 'seq', 1)
local epoch = redis.call('HGET', KEYS[2], 'epoch')
redis.call('PEXPIRE', KEYS[2], ARGV[3])
local message = '{"epoch":' .. epoch .. ',"seq":' .. seq .. ',"event":' .. ARGV[2] .. '}'
if ARGV[4] == 'state' then redis.call('SET', KEYS[3], message, 'PX', ARGV[3]) end
redis.call('PUBLISH', KEYS[4], message)
return seq`;

export interface LeaseScripts {
  /** The fencing token when the lease was taken, null when someone else holds it. */
  acquire(lease: string, fence: string, replicaId: string, leaseMs: number, keepMs: number): Promise<number | null>;
  renew(lease: string, holder: string, leaseMs: number): Promise<boolean>;
  release(names: Pick<KeyNames, 'lease' | 'fence' | 'sequence' | 'state'>, holder: string): Promise<boolean>;
  /**
   * The event's sequence number, or 0 when `holder` no longer holds the lease. `kind` says whether
   * the event is a state (stored as the latest one) or an error (only published).
   */
  publish(
    names: Pick<KeyNames, 'lease' | 'sequence' | 'state' | 'events'>,
    holder: string,
    event: { kind: 'state' | 'error'; json: string },
    stateTtlMs: number,
  ): Promise<number>;
}

export function leaseScripts(redis: Redis): LeaseScripts {
  redis.defineCommand('leaseAcquire', { numberOfKeys: 2, lua: ACQUIRE });
  redis.defineCommand('leaseRenew', { numberOfKeys: 1, lua: RENEW });
  redis.defineCommand('leaseRelease', { numberOfKeys: 4, lua: RELEASE });
  redis.defineCommand('leasePublish', { numberOfKeys: 4, lua: PUBLISH });
  const call = redis as unknown as Record<string, (...args: Array<string | number>) => Promise<unknown>>;
  return {
    acquire: async (lease, fence, replicaId, leaseMs, keepMs) => {
      const token = await call['leaseAcquire']!(lease, fence, replicaId, leaseMs, keepMs);
      return typeof token === 'number' ? token : null;
    },
    renew: async (lease, holder, leaseMs) => (await call['leaseRenew']!(lease, holder, leaseMs)) === 1,
    release: async (names, holder) => (await call['leaseRelease']!(names.lease, names.fence, names.sequence, names.state, holder)) === 1,
    publish: async (names, holder, event, stateTtlMs) =>
      Number(await call['leasePublish']!(names.lease, names.sequence, names.state, names.events, holder, event.json, stateTtlMs, event.kind)),
  };
}
