import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/**
 * Production runs the gateway as `node <flags> dist/server.js` in two places, `npm start` and the
 * Dockerfile's CMD (node as PID 1, no npm in between), and the bench measures it with `npm
 * start`'s flags: the two must not drift apart.
 */
describe('runtime flags', () => {
  it('starts the gateway with the same node flags from npm start and from the Dockerfile', () => {
    const start = (JSON.parse(readFileSync('package.json', 'utf8')) as { scripts: Record<string, string> }).scripts['start']!;
    const cmd = readFileSync('Dockerfile', 'utf8')
      .split('\n')
      .find((line) => line.startsWith('CMD '))!;
    const fromDockerfile = (JSON.parse(cmd.slice('CMD '.length)) as string[]).join(' ');
    expect(start).toMatch(/^node (--[\w-]+=\S+ )*dist\/server\.js$/);
    expect(fromDockerfile).toBe(start);
    expect(start).toContain('--max-semi-space-size=');
  });
});
