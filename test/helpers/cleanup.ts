import { afterEach } from 'vitest';

type Disposer = () => unknown;

/**
 * Everything a test starts registers its own disposer here; after each test they run in reverse
 * order, so a failing assertion never leaks a server, socket or timer into the next test.
 */
export function useCleanup(): (dispose: Disposer) => void {
  const leftovers: Disposer[] = [];
  afterEach(async () => {
    while (leftovers.length > 0) await leftovers.pop()!();
  });
  return (dispose) => {
    leftovers.push(dispose);
  };
}
