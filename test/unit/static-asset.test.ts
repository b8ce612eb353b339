import { describe, expect, it } from 'vitest';
import { type Compress, preferredCoding } from '../../src/transport/graphiql/content-coding.js';
import { isHashedPath, StaticAsset } from '../../src/transport/graphiql/static-asset.js';

describe('a static asset', () => {
  it('is named by its content', () => {
    const asset = new StaticAsset('/files/', 'app.js', 'text/javascript', Buffer.from('one'));
    expect(asset.path).toMatch(/^\/files\/app\.[0-9a-f]{16}\.js$/);
    expect(isHashedPath(asset.path, '/files/')).toBe(true);
    expect(
      ['/files/app.js', '/files/app.0123.js', '/other/app.0123456789abcdef.js', '/files/x/app.0123456789abcdef.js'].filter((path) =>
        isHashedPath(path, '/files/'),
      ),
    ).toEqual([]);
    expect(new StaticAsset('/files/', 'app.js', 'text/javascript', Buffer.from('two')).path).not.toBe(asset.path);
    expect(new StaticAsset('/files/', 'app.js', 'text/javascript', Buffer.from('one')).path).toBe(asset.path);
  });

  it('is compressed once per coding, on the first request that asks for it, however many ask at once or later', async () => {
    const calls: string[] = [];
    const compress: Compress = async (coding, body) => {
      calls.push(coding);
      return Buffer.from(`${coding}:${body.length}`);
    };
    const asset = new StaticAsset('/files/', 'app.js', 'text/javascript', Buffer.alloc(1000), compress);
    expect(calls).toEqual([]); // nothing before a request
    const concurrent = await Promise.all([asset.representation('br'), asset.representation('br'), asset.representation('gzip')]);
    await asset.representation('br');
    await asset.representation('gzip');
    expect(calls).toEqual(['br', 'gzip']);
    expect(concurrent.map(({ coding, body }) => [coding, body.toString()])).toEqual([
      ['br', 'br:1000'],
      ['br', 'br:1000'],
      ['gzip', 'gzip:1000'],
    ]);
  });

  it('goes out as it is when compressing gains nothing, and tries again after a failed compression', async () => {
    let failures = 1;
    const compress: Compress = async (_coding, body) => {
      if (failures-- > 0) throw new Error('zlib failed');
      return Buffer.concat([body, body]);
    };
    const asset = new StaticAsset('/files/', 'icon.ico', 'image/x-icon', Buffer.from('tiny'), compress);
    await expect(asset.representation('br')).rejects.toThrow('zlib failed');
    expect(await asset.representation('br')).toMatchObject({ coding: undefined, body: Buffer.from('tiny') });
  });
});

describe('the preferred content coding', () => {
  it.each([
    [undefined, undefined],
    ['', undefined],
    ['identity', undefined],
    ['gzip, deflate, br, zstd', 'br'],
    ['gzip', 'gzip'],
    ['GZIP;q=0.8, deflate', 'gzip'],
    ['br;q=0.5, gzip', 'gzip'],
    ['br;q=0, gzip;q=0', undefined],
    ['*', 'br'],
    ['*;q=0.1, gzip;q=0.5', 'gzip'],
    ['br;q=abc, gzip;q=0.2', 'gzip'],
  ])('%s → %s', (acceptEncoding, coding) => {
    expect(preferredCoding(acceptEncoding)).toBe(coding);
  });
});
