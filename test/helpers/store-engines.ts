import { rmSync } from 'node:fs';
import { temporaryDataDir } from './gateway.js';
import { createDatabase } from './postgres.js';

export type StoreEngineName = 'sqlite' | 'postgresql';

/**
 * The gateway settings of a store of each engine, made for one test and removed after it: an
 * embedded store in a DATA_DIR of its own, or a PostgreSQL database of its own.
 */
export function storeEngineEnvs(cleanup: (dispose: () => unknown) => void): Record<StoreEngineName, () => Promise<Record<string, string>>> {
  return {
    sqlite: async () => {
      const dataDir = temporaryDataDir();
      cleanup(() => rmSync(dataDir, { recursive: true, force: true }));
      return { DATA_DIR: dataDir };
    },
    postgresql: async () => ({ DATABASE_URL: (await createDatabase(cleanup)).url }),
  };
}
