import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import type { ImportRef } from '../domain/import-ref.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { UpstreamImportState } from '../mypreferences-contract.js';
import type { StageInDoubt } from '../store/schema.js';

/** What the jobs need of the MyPreferences client (the port it implements; wired by the gateway). */
export interface JobUpstream {
  /** A Stage call with a body already serialised. */
  stageBody(credential: UpstreamCredential, ref: ImportRef, body: Buffer): Promise<UpstreamImportState>;
  status(credential: UpstreamCredential, ref: ImportRef): Promise<UpstreamImportState>;
  execute(credential: UpstreamCredential, ref: ImportRef): Promise<UpstreamImportState>;
}

/** How a Stage call whose answer was lost was settled: it landed, it did not (sent again), the count matched neither, or the status could not be read. */
export type LostAnswerOutcome = 'landed' | 'resent' | 'unknown' | 'undecided';

/** A Stage call whose outcome could not be learnt this time (the status could not be read): retry later, from the checkpoint in doubt. */
export class StageUndecided extends Error {}

/** How many times one body is sent when the upstream's count says it never landed. */
const MAX_SENDS = 3;

/**
 * Sends one Stage body so that its records reach the upstream exactly once, and answers the
 * import's state after it. The call in doubt is in the store before this runs.
 *
 * A refusal (a 4xx answer) means nothing landed: it fails the job with that error. Any other
 * failure — a timeout, a reset, a lost or garbled answer, a 5xx — leaves the outcome unknown,
 * and the import's status decides ({@link reconcileStage}): the body landed (advance), did not
 * (send it again, at most {@link MAX_SENDS} times), or the count is neither (STAGE_OUTCOME_UNKNOWN).
 */
export async function stageExactlyOnce(
  upstream: JobUpstream,
  credential: UpstreamCredential,
  ref: ImportRef,
  body: Buffer,
  inDoubt: StageInDoubt,
  onLostAnswer: (settled: LostAnswerOutcome) => void = () => {},
): Promise<UpstreamImportState> {
  for (let send = 1; ; send++) {
    try {
      return await upstream.stageBody(credential, ref, body);
    } catch (error) {
      if (isRefusal(error)) throw error;
      const outcome = await reconcileStage(upstream, credential, ref, inDoubt).catch((failure: unknown) => {
        onLostAnswer(failure instanceof StageUndecided ? 'undecided' : 'unknown');
        throw failure;
      });
      onLostAnswer(outcome.landed ? 'landed' : 'resent');
      if (outcome.landed) return outcome.state;
      if (send >= MAX_SENDS) throw new StageUndecided('the Stage call did not land after several attempts');
    }
  }
}

/**
 * Whether the Stage call in doubt landed, by the import's `TotalRecordsReceived`: the count
 * before it plus its records (it landed), the count before it (it did not), or anything else —
 * someone else staged to the import, or the upstream lost records — which fails the job with
 * STAGE_OUTCOME_UNKNOWN rather than guess. Throws {@link StageUndecided} when the status cannot be read.
 */
export async function reconcileStage(
  upstream: JobUpstream,
  credential: UpstreamCredential,
  ref: ImportRef,
  inDoubt: StageInDoubt,
): Promise<{ landed: boolean; state: UpstreamImportState }> {
  let state: UpstreamImportState;
  try {
    state = await upstream.status(credential, ref);
  } catch (error) {
    if (isRefusal(error)) throw error;
    throw new StageUndecided('the import status could not be read to learn whether a Stage call landed');
  }
  const received = state.TotalRecordsReceived;
  if (received === inDoubt.receivedBefore + inDoubt.records) return { landed: true, state };
  if (received === inDoubt.receivedBefore) return { landed: false, state };
  throw new GatewayError(
    'STAGE_OUTCOME_UNKNOWN',
    `After a Stage call whose answer was lost, MyPreferences counts ${received} records received where the gateway expected ${inDoubt.receivedBefore} (not landed) or ${inDoubt.receivedBefore + inDoubt.records} (landed); the job stops rather than risk staging records twice or not at all.`,
  );
}

/** An answer refusing the call: the upstream did nothing (4xx), or our own refusal before sending. */
export function isRefusal(error: unknown): error is GatewayError {
  if (!(error instanceof GatewayError)) return false;
  const status = error.details.upstreamStatus;
  if (typeof status === 'number') return status >= 400 && status < 500;
  return error.code === 'BAD_USER_INPUT' || error.code === 'FORBIDDEN' || error.code === 'UNAUTHENTICATED';
}
