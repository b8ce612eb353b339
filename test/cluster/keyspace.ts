import { Redis } from 'ioredis';

/** Everything the gateway keeps in Redis starts with this (see `src/cluster/redis-names.ts`). */
export const PREFIX = 'bulk-import-gateway:';

interface KeyEvent {
  /** The command or cause: `set`, `del`, `expire`, `expired`, `hset`, `incrby`, … */
  event: string;
  key: string;
}

export interface KeyspaceWatch {
  /** A plain connection, for KEYS, TYPE, GET and the like. */
  readonly commands: Redis;
  /** Every key event since the watch started, oldest first. */
  readonly events: readonly KeyEvent[];
  /** Resolves once `check` holds: checked at once, then again after each key event. */
  until(check: () => boolean | Promise<boolean>): Promise<void>;
  /** Resolves once each of `keys` has expired (Redis removed it for its TTL). */
  expired(keys: readonly string[]): Promise<void>;
}

/**
 * Watches what happens to keys in a test's redis-server through keyspace notifications
 * (`__keyevent@0__:*`), so a test waits for a key to expire or disappear instead of sleeping.
 * Both connections are closed by the test's cleanup.
 */
export async function watchKeyspace(url: string, register: (dispose: () => unknown) => void): Promise<KeyspaceWatch> {
  const commands = new Redis(url);
  const subscriber = new Redis(url);
  register(() => {
    commands.disconnect();
    subscriber.disconnect();
  });
  const events: KeyEvent[] = [];
  const expiredKeys = new Set<string>();
  const wakers = new Set<() => void>();
  subscriber.on('pmessage', (_pattern: string, channel: string, key: string) => {
    const event = channel.slice(channel.indexOf(':') + 1);
    events.push({ event, key });
    if (event === 'expired') expiredKeys.add(key);
    for (const wake of [...wakers]) wake();
  });
  // E: key-event channels; A: every kind of command (expired included).
  await commands.config('SET', 'notify-keyspace-events', 'EA');
  await subscriber.psubscribe('__keyevent@0__:*');

  const until = (check: () => boolean | Promise<boolean>) =>
    new Promise<void>((resolve, reject) => {
      let checking = false;
      let again = false;
      const wake = () => {
        if (checking) {
          again = true;
          return;
        }
        checking = true;
        void (async () => {
          try {
            do {
              again = false;
              if (await check()) {
                wakers.delete(wake);
                resolve();
                return;
              }
            } while (again);
          } catch (error) {
            wakers.delete(wake);
            reject(error);
          } finally {
            checking = false;
          }
        })();
      };
      wakers.add(wake);
      wake();
    });

  return {
    commands,
    events,
    until,
    expired: async (keys) => {
      // Redis expires a key when its active cycle samples it or when a command touches it; on a
      // busy machine the cycle can lag, so the keys are touched (EXISTS) until each one's
      // 'expired' event has come. The wait is on the event, the touch only brings it about.
      const touch = setInterval(() => {
        for (const key of keys) if (!expiredKeys.has(key)) void commands.exists(key).catch(() => {});
      }, 50);
      try {
        await until(() => keys.every((key) => expiredKeys.has(key)));
      } finally {
        clearInterval(touch);
      }
    },
  };
}
