import { startTsProcess } from '../helpers/process.js';

export interface ZeroConfigGateway {
  /** `http://127.0.0.1:PORT` */
  origin: string;
  /** The development credential the gateway logs at start (and prefills in GraphiQL). */
  demoAuthorization: string;
}

/** `npm start` with nothing configured (the built-in simulator, the development issuer), on a free loopback port. */
export async function startZeroConfigGateway(env: Record<string, string>, register: (dispose: () => unknown) => void): Promise<ZeroConfigGateway> {
  const server = startTsProcess('src/server.ts', { PORT: '0', HOST: '127.0.0.1', ...env }, register);
  const notice = await server.waitForLog((line) => typeof line['demoAuthorization'] === 'string');
  const { url } = await server.waitForLog((line) => typeof line['url'] === 'string');
  return { origin: new URL(url as string).origin, demoAuthorization: notice['demoAuthorization'] as string };
}
