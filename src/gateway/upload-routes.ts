import type { IncomingMessage } from 'node:http';
import type { Authenticate } from '../auth/access.js';
import { ForwardedCredential } from '../credentials/credential.js';
import type { UpstreamCredential } from '../credentials/upstream-credential.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ImportJobs } from '../jobs/import-jobs.js';
import { UPLOAD_PATH, type UploadEndpoint } from '../jobs/upload-endpoint.js';
import { sendEarlyAnswer } from './early-answer.js';
import { pathOf, type RouteHandler } from './routes.js';

export interface UploadRouteOptions {
  authenticate: Authenticate;
  jobs: ImportJobs;
  endpoint: UploadEndpoint;
  /** The most bytes the uploads being staged may hold at once (each holds two Stage bodies). */
  maxBytesInFlight: number;
  /** What one upload holds while it is staged: two Stage bodies. */
  bytesPerUpload: number;
}

const TUS_METHODS = 'OPTIONS, HEAD, PATCH';
/** A refused PATCH may be gigabytes long: this much is read and dropped so its answer arrives, then the connection closes. */
const REFUSED_BODY_DRAIN = { maxBytes: 16 * 1024 * 1024, maxMs: 10_000 };

/**
 * `/uploads/<jobId>`: the import jobs' tus endpoint. Everything that can refuse an upload is
 * decided here, before tus reads a byte of it: the method (no creation or termination: the job
 * is the upload), the caller (the same Authorization as GraphQL, `write` on the job's clientId;
 * in passthrough mode only the credential that created the job), and room in memory (each upload
 * being staged holds up to two Stage bodies; one clientId at most half of the room). A refusal is
 * coded JSON, answered while the body is drained (bounded), as for GraphQL.
 */
export function uploadRoutes(options: UploadRouteOptions): [string, RouteHandler][] {
  const { jobs, endpoint } = options;
  let inFlight = 0;
  const inFlightByClient = new Map<string, number>();

  const handler: RouteHandler = async (request, response) => {
    const refuse = (status: number, error: GatewayError, headers: Record<string, string> = {}) => {
      const body = JSON.stringify({ errors: [{ message: error.message, extensions: error.extensions }] });
      sendEarlyAnswer(
        request,
        response,
        { status, headers: { 'content-type': 'application/json; charset=utf-8', 'tus-resumable': '1.0.0', ...headers }, body },
        REFUSED_BODY_DRAIN,
      );
    };
    const method = request.method ?? 'GET';
    if (method === 'OPTIONS') return endpoint.handle(request, response, undefined);
    if (method !== 'HEAD' && method !== 'PATCH') {
      return refuse(
        405,
        new GatewayError('BAD_USER_INPUT', 'An import job is its upload: create one with createImportJob, then HEAD and PATCH its uploadUrl.', {
          reason: 'INVALID_UPLOAD_REQUEST',
        }),
        { allow: TUS_METHODS },
      );
    }
    const access = await options.authenticate(headerOf(request, 'authorization'));
    if (access.refusal) return refuse(access.refusal.code === 'UNAUTHENTICATED' ? 401 : 403, access.refusal);
    const id = decodeURIComponent(pathOf(request).slice(UPLOAD_PATH.length + 1));
    const notFound = new GatewayError('NOT_FOUND', 'No import job has this upload URL.');
    const job = /^[0-9a-f-]{36}$/.test(id) ? await jobs.find(id) : undefined;
    if (!job) return refuse(404, notFound);
    let credential: UpstreamCredential;
    try {
      credential = access.credentialFor(job.clientId, 'write');
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      return refuse(error.code === 'UNAUTHENTICATED' ? 401 : 403, error);
    }
    const passthrough = credential instanceof ForwardedCredential;
    if (passthrough && job.credentialFingerprint !== credential.id) return refuse(404, notFound);
    const uploader = {
      credential,
      recorder: { actor: passthrough ? null : (access.subject ?? null), fingerprint: passthrough ? credential.id : null },
    };
    if (method === 'HEAD') return endpoint.handle(request, response, { job, uploader });

    const declared = headerOf(request, 'upload-length');
    const held = inFlightByClient.get(job.clientId) ?? 0;
    if (inFlight + options.bytesPerUpload > options.maxBytesInFlight || held + options.bytesPerUpload > options.maxBytesInFlight / 2) {
      return refuse(
        503,
        new GatewayError('OVERLOADED', 'The gateway is staging as many uploads as it holds room for; resume in a moment.', {
          reason: 'UPLOADS_IN_FLIGHT',
          retryAfterSeconds: 1,
        }),
        { 'retry-after': '1' },
      );
    }
    inFlight += options.bytesPerUpload;
    inFlightByClient.set(job.clientId, held + options.bytesPerUpload);
    try {
      await endpoint.handle(request, response, { job, uploader, declaredLength: declared === undefined ? undefined : Number(declared) });
    } finally {
      inFlight -= options.bytesPerUpload;
      const left = (inFlightByClient.get(job.clientId) ?? 0) - options.bytesPerUpload;
      if (left > 0) inFlightByClient.set(job.clientId, left);
      else inFlightByClient.delete(job.clientId);
    }
  };
  return [[`${UPLOAD_PATH}/`, handler]];
}

function headerOf(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}
