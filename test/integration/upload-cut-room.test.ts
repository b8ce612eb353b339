import { describe, expect, it } from 'vitest';
import { CreateImportJobDocument, ImportJobDocument } from '../../operations/generated.js';
import { DEMO_ACCOUNT, startSimulator } from '../../src/simulator/index.js';
import { useCleanup } from '../helpers/cleanup.js';
import { eventually } from '../helpers/eventually.js';
import { startGateway } from '../helpers/gateway.js';
import { postGraphQL } from '../helpers/graphql.js';
import { cutPatch, ndjsonFile, tusRequest } from '../helpers/uploads.js';

const authorization = DEMO_ACCOUNT.credentials[0]!.value;
const clientId = DEMO_ACCOUNT.clientId;

/**
 * A PATCH whose client goes away mid-body gives back the room the upload route reserved for it
 * once its lines are staged: cut connections, however many, never leave a clientId unable to
 * upload. (The room is `UPLOAD_MAX_BYTES_IN_FLIGHT`, each upload taking two Stage bodies, one
 * clientId at most half of it; here that is two uploads at once.)
 */
describe('uploads cut mid-body', () => {
  const cleanup = useCleanup();

  it('give back their room: after more cut PATCHes than the clientId has room for, its next upload is taken', async () => {
    const simulator = await startSimulator({ recordReceipts: true, recordsPerSecond: 100_000, queueDelayMs: 0 });
    cleanup(() => simulator.stop());
    // Stage bodies of 256 KB, so each upload holds 512 KB; 2 MB in flight, 1 MB for one clientId: two uploads at once.
    const gateway = await startGateway(
      simulator.baseUrl,
      { UPSTREAM_MAX_STAGE_BYTES: String(256 * 1024), UPLOAD_MAX_BYTES_IN_FLIGHT: String(2 * 1024 * 1024) },
      cleanup,
    );
    const gql = async (document: Parameters<typeof postGraphQL>[1], variables: Record<string, unknown>) => {
      const response = await postGraphQL(gateway.url, document, variables, authorization);
      expect(response.errors, JSON.stringify(response.errors)).toBeUndefined();
      return Object.values(response.data!)[0] as Record<string, any>;
    };
    const file = ndjsonFile(3000);
    const createJob = () => gql(CreateImportJobDocument, { clientId, input: { name: 'cut' }, execute: false });

    for (let cut = 1; cut <= 3; cut++) {
      const job = await createJob();
      await cutPatch(job['uploadUrl'], authorization, 0, file.bytes, Math.floor(file.bytes.length / 2), file.bytes.length);
      // Its whole lines are staged after the client is gone.
      await eventually(async () => (await gql(ImportJobDocument, { id: job['id'] }))['bytesStaged'] > 0, `cut PATCH ${cut} to be staged`);
    }

    // The room of a request comes back when its handling ends, a moment after its staging: a
    // refusal for room (503) in that moment is what tus clients retry.
    const job = await createJob();
    let answer: Awaited<ReturnType<typeof tusRequest>> | undefined;
    await eventually(
      async () => {
        answer = await tusRequest(job['uploadUrl'], 'PATCH', { authorization, 'upload-offset': '0', 'upload-length': String(file.bytes.length) }, file.bytes);
        return answer.status !== 503;
      },
      'an upload of the clientId to be taken after three cut ones',
      { timeoutMs: 5000, everyMs: 100 },
    );
    expect(answer!.status, answer!.text).toBe(204);
    expect(answer!.headers.get('upload-offset')).toBe(String(file.bytes.length));
    const done = await gql(ImportJobDocument, { id: job['id'] });
    expect(done).toMatchObject({ state: 'COMPLETED', recordsStaged: 3000 });
  });
});
