import { describe, expect, it } from 'vitest';
import { type BulkImport, toBulkImport } from '../../src/domain/bulk-import.js';
import { ImportRegistry } from '../../src/store/registry.js';
import type { StoreOperation } from '../../src/store/store.js';
import { parseImportState } from '../../src/upstream/parse.js';
import { useCleanup } from '../helpers/cleanup.js';
import { importState } from '../helpers/fake-upstream.js';
import { startGateway } from '../helpers/gateway.js';
import { captureLogs } from '../helpers/log-capture.js';
import { storeEngineEnvs } from '../helpers/store-engines.js';

/** No upstream call is made here: the store is all these gateways touch. */
const UPSTREAM = 'http://127.0.0.1:9/Profiles/';
const recorder = { actor: null, fingerprint: null };
const processing = (accessToken: string, processed: number): BulkImport =>
  toBulkImport('acme', accessToken, parseImportState(importState({ Status: 'Processing', ValidationSuccessful: 100, Processed: processed })));

/**
 * Every poll's state is recorded before it is pushed. The records handed to the registry in one
 * turn share one transaction (one fsync of the embedded store), on both engines, and a record that
 * cannot be written fails alone.
 */
describe('the registry commits the records of one turn together', () => {
  const cleanup = useCleanup();
  const envFor = storeEngineEnvs(cleanup);

  describe.each(['sqlite', 'postgresql'] as const)('on %s', (engine) => {
    async function registryOnStore() {
      const { gateway } = await startGateway(UPSTREAM, await envFor[engine](), cleanup);
      const operations: StoreOperation[] = [];
      const logs = captureLogs();
      const registry = new ImportRegistry({ store: gateway.store, logger: logs.logger, observe: (operation) => operations.push(operation) });
      const recorded = async () =>
        (await gateway.store.db.selectFrom('imports').select(['accessToken', 'lastState']).orderBy('accessToken').execute()).map((row) => [
          row.accessToken,
          (JSON.parse(row.lastState!) as BulkImport).processed,
        ]);
      return { registry, operations, logs, recorded };
    }

    it('records 50 states handed over in one turn in one transaction, each resolved once it is committed', async () => {
      const { registry, operations, recorded } = await registryOnStore();
      const tokens = Array.from({ length: 50 }, (_, i) => `token-${String(i).padStart(2, '0')}`);
      await Promise.all(tokens.map((token, i) => registry.observed({ clientId: 'acme', accessToken: token }, processing(token, i), recorder)));
      expect(await recorded()).toEqual(tokens.map((token, i) => [token, i]));
      expect(operations.filter((operation) => operation === 'observed')).toHaveLength(50);
      expect(operations.filter((operation) => operation === 'commit')).toHaveLength(1);

      // The next turn's records are the next transaction; one import's states keep their order.
      await Promise.all(
        [3, 7].map((processed) => registry.observed({ clientId: 'acme', accessToken: tokens[0]! }, processing(tokens[0]!, processed), recorder)),
      );
      expect((await recorded())[0]).toEqual([tokens[0], 7]);
      expect(operations.filter((operation) => operation === 'commit')).toHaveLength(2);
    });

    it('writes the rest of a turn when one record fails, and logs the one that failed', async () => {
      const { registry, operations, logs, recorded } = await registryOnStore();
      const tokens = Array.from({ length: 10 }, (_, i) => `token-${i}`);
      // A state that cannot be written: its JSON cannot be made.
      const unwritable = { ...processing('token-4', 4), processed: 10n } as unknown as BulkImport;
      await Promise.all(
        tokens.map((token, i) => registry.observed({ clientId: 'acme', accessToken: token }, i === 4 ? unwritable : processing(token, i), recorder)),
      );
      expect(await recorded()).toEqual(tokens.filter((_, i) => i !== 4).map((token) => [token, Number(token.slice(-1))]));
      // The turn's transaction rolled back; each record went again on its own.
      expect(operations.filter((operation) => operation === 'commit')).toHaveLength(9);
      expect(logs.lines.filter((line) => line.msg === 'the registry could not record an import: its record is behind')).toHaveLength(1);
    });
  });
});
