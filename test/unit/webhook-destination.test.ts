import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { InvalidConfiguration, loadConfig } from '../../src/config/config.js';
import { type AddressKind, addressKind } from '../../src/webhooks/addresses.js';
import {
  checkWebhookUrl,
  createCheckedLookup,
  type ResolveHost,
  WebhookDestinationError,
  type WebhookDestinationPolicy,
} from '../../src/webhooks/destination.js';

const PUBLIC_V4 = '93.184.215.14';
const PUBLIC_V6 = '2606:2800:21f:cb07:6820:80da:af6b:8b2c';

describe('addressKind', () => {
  const table: [address: string, kind: AddressKind | undefined][] = [
    // Public unicast.
    [PUBLIC_V4, undefined],
    ['8.8.8.8', undefined],
    ['1.1.1.1', undefined],
    ['100.63.255.255', undefined],
    ['100.128.0.0', undefined],
    ['172.15.255.255', undefined],
    ['172.32.0.0', undefined],
    ['192.169.0.1', undefined],
    ['169.253.255.255', undefined],
    ['223.255.255.255', undefined],
    [PUBLIC_V6, undefined],
    ['2001:4860:4860::8888', undefined],
    ['2a00:1450:4001:80b::200e', undefined],
    ['2001:200::1', undefined],
    // IPv4 special ranges.
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['10.0.0.1', 'private'],
    ['10.255.255.255', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['100.64.0.1', 'carrier-grade-nat'],
    ['100.127.255.255', 'carrier-grade-nat'],
    ['169.254.0.1', 'link-local'],
    ['169.254.255.255', 'link-local'],
    ['169.254.169.254', 'metadata'],
    ['169.254.170.2', 'metadata'],
    ['100.100.100.200', 'metadata'],
    ['168.63.129.16', 'metadata'],
    ['192.0.0.8', 'reserved'],
    ['192.0.2.10', 'reserved'],
    ['192.88.99.1', 'reserved'],
    ['198.18.0.1', 'reserved'],
    ['198.19.255.255', 'reserved'],
    ['198.51.100.7', 'reserved'],
    ['203.0.113.9', 'reserved'],
    ['224.0.0.1', 'multicast'],
    ['239.255.255.250', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    // IPv6 special ranges.
    ['::', 'unspecified'],
    ['::1', 'loopback'],
    ['0:0:0:0:0:0:0:1', 'loopback'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf:ffff::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456:789a::1', 'unique-local'],
    ['fd00:ec2::254', 'metadata'],
    ['fec0::1', 'private'],
    ['ff02::1', 'multicast'],
    ['ff05::1:3', 'multicast'],
    ['2001:db8::1', 'reserved'],
    ['2001::1', 'reserved'],
    ['2001:2::1', 'reserved'],
    ['3fff::1', 'reserved'],
    ['100::1', 'reserved'],
    ['4000::1', 'reserved'],
    ['5f00::1', 'reserved'],
    ['64:ff9b:1::a00:1', 'private'],
    // IPv4-mapped IPv6: judged by the IPv4 address, in either notation.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['::FFFF:10.1.2.3', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:100.64.0.1', 'carrier-grade-nat'],
    ['::ffff:0.0.0.0', 'unspecified'],
    [`::ffff:${PUBLIC_V4}`, undefined],
    // NAT64's well-known prefix, likewise.
    ['64:ff9b::127.0.0.1', 'loopback'],
    ['64:ff9b::a9fe:a9fe', 'metadata'],
    ['64:ff9b::192.168.0.1', 'private'],
    [`64:ff9b::${PUBLIC_V4}`, undefined],
    // 6to4 carries its IPv4 address in bits 16–47.
    ['2002:7f00:1::1', 'loopback'],
    ['2002:a00:1::', 'private'],
    ['2002:5db8:d70e::1', undefined],
    // IPv4-compatible and IPv4-translated (deprecated): refused, as their IPv4 address's kind when it has one.
    ['::127.0.0.1', 'loopback'],
    ['::10.0.0.1', 'private'],
    [`::${PUBLIC_V4}`, 'reserved'],
    ['::ffff:0:127.0.0.1', 'loopback'],
    [`::ffff:0:${PUBLIC_V4}`, 'reserved'],
    // Not an address: never public.
    ['localhost', 'reserved'],
    ['', 'reserved'],
  ];

  it.each(table)('%s is %s', (address, kind) => {
    expect(addressKind(address)).toBe(kind);
  });
});

/** The refusal's reason (and kind) of a check, or the URL it accepted. */
async function outcome(check: Promise<URL>): Promise<string> {
  try {
    return (await check).href;
  } catch (error) {
    if (!(error instanceof WebhookDestinationError)) throw error;
    return error.refused ? `${error.reason} ${error.refused.kind}` : error.reason;
  }
}

/** A resolver answering from a table; a name it does not know does not resolve. */
function resolver(answers: Record<string, readonly string[]>): ResolveHost & { calls: string[] } {
  const calls: string[] = [];
  const resolve = async (hostname: string) => {
    calls.push(hostname);
    const found = answers[hostname];
    if (found === undefined) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return found;
  };
  return Object.assign(resolve, { calls });
}

describe('checkWebhookUrl', () => {
  const resolve = resolver({
    'hooks.example.com': [PUBLIC_V4, PUBLIC_V6],
    'internal.example.com': ['10.0.0.7'],
    'mixed.example.com': [PUBLIC_V4, '127.0.0.1'],
    'mixed6.example.com': [PUBLIC_V6, 'fd00::1'],
    'mapped.example.com': ['::ffff:169.254.169.254'],
    'empty.example.com': [],
    'dev.internal': ['10.1.2.3'],
  });
  const none: WebhookDestinationPolicy = { allowedHosts: [] };
  const allowing: WebhookDestinationPolicy = { allowedHosts: ['dev.internal', '127.0.0.1:8080', '[::1]', 'localhost:9000'] };

  const table: [url: string, policy: WebhookDestinationPolicy, expected: string][] = [
    ['https://hooks.example.com/hook?x=1', none, 'https://hooks.example.com/hook?x=1'],
    ['HTTPS://Hooks.Example.COM:8443/a', none, 'https://hooks.example.com:8443/a'],
    [`https://${PUBLIC_V4}/`, none, `https://${PUBLIC_V4}/`],
    [`https://[${PUBLIC_V6}]/`, none, `https://[${PUBLIC_V6}]/`],
    // Not a webhook URL.
    ['not a url', none, 'INVALID_URL'],
    ['/relative/path', none, 'INVALID_URL'],
    ['https://user:secret@hooks.example.com/', none, 'INVALID_URL'],
    ['https://user@hooks.example.com/', none, 'INVALID_URL'],
    ['https://hooks.example.com/#part', none, 'INVALID_URL'],
    ['https://hooks.example.com/#', none, 'INVALID_URL'],
    ['https://hooks.example.com:0/', none, 'INVALID_URL'],
    [`https://hooks.example.com/${'a'.repeat(2048)}`, none, 'INVALID_URL'],
    // Not https.
    ['http://hooks.example.com/', none, 'NOT_HTTPS'],
    ['ftp://hooks.example.com/', none, 'NOT_HTTPS'],
    ['ws://hooks.example.com/', none, 'NOT_HTTPS'],
    ['javascript:alert(1)', none, 'NOT_HTTPS'],
    // Names that do not resolve.
    ['https://nowhere.example.com/', none, 'UNRESOLVABLE'],
    ['https://empty.example.com/', none, 'UNRESOLVABLE'],
    // Names that resolve, once, to an address that is not public.
    ['https://internal.example.com/', none, 'PRIVATE_ADDRESS private'],
    ['https://mixed.example.com/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://mixed6.example.com/', none, 'PRIVATE_ADDRESS unique-local'],
    ['https://mapped.example.com/', none, 'PRIVATE_ADDRESS metadata'],
    // Literal addresses, in every notation the URL parser turns into one.
    ['https://127.0.0.1/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://127.1/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://0x7f000001/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://2130706433/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://017700000001/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://0/', none, 'PRIVATE_ADDRESS unspecified'],
    ['https://169.254.169.254/latest/meta-data/', none, 'PRIVATE_ADDRESS metadata'],
    ['https://[::1]/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://[::ffff:127.0.0.1]/', none, 'PRIVATE_ADDRESS loopback'],
    ['https://[::ffff:a9fe:a9fe]/', none, 'PRIVATE_ADDRESS metadata'],
    ['https://[64:ff9b::10.0.0.1]/', none, 'PRIVATE_ADDRESS private'],
    ['https://[fe80::1]/', none, 'PRIVATE_ADDRESS link-local'],
    ['https://[fd00:ec2::254]/', none, 'PRIVATE_ADDRESS metadata'],
    ['https://100.64.1.1/', none, 'PRIVATE_ADDRESS carrier-grade-nat'],
    // The allow list: a host alone allows every port and http; host:port only that port.
    ['http://dev.internal/hook', allowing, 'http://dev.internal/hook'],
    ['https://dev.internal:8443/hook', allowing, 'https://dev.internal:8443/hook'],
    ['http://127.0.0.1:8080/hook', allowing, 'http://127.0.0.1:8080/hook'],
    ['http://127.0.0.1:8081/hook', allowing, 'NOT_HTTPS'],
    ['https://127.0.0.1:8081/hook', allowing, 'PRIVATE_ADDRESS loopback'],
    ['https://127.0.0.1/hook', allowing, 'PRIVATE_ADDRESS loopback'],
    ['http://[::1]:1234/', allowing, 'http://[::1]:1234/'],
    ['http://[0:0::1]/', allowing, 'http://[::1]/'],
    ['http://LOCALHOST:9000/', allowing, 'http://localhost:9000/'],
    ['http://localhost/', allowing, 'NOT_HTTPS'],
    // A port written out as the scheme's default is that default.
    ['https://dev.internal:443/', allowing, 'https://dev.internal/'],
    // Allowed hosts still need a webhook URL's form.
    ['http://user:pw@dev.internal/', allowing, 'INVALID_URL'],
    ['ftp://dev.internal/', allowing, 'NOT_HTTPS'],
  ];

  it.each(table)('%s → %s', async (url, policy, expected) => {
    expect(await outcome(checkWebhookUrl(url, policy, resolve))).toBe(expected);
  });

  it('matches the default port of the scheme against an allowed host:port', async () => {
    const policy = { allowedHosts: ['hooks.lan:80', 'secure.lan:443'] };
    expect(await outcome(checkWebhookUrl('http://hooks.lan/', policy, resolve))).toBe('http://hooks.lan/');
    expect(await outcome(checkWebhookUrl('https://secure.lan/', policy, resolve))).toBe('https://secure.lan/');
    expect(await outcome(checkWebhookUrl('http://secure.lan/', policy, resolve))).toBe('NOT_HTTPS');
  });

  it('resolves a name once, and neither a literal address nor an allowed host', async () => {
    const counted = resolver({ 'hooks.example.com': [PUBLIC_V4] });
    await checkWebhookUrl('https://hooks.example.com/', { allowedHosts: [] }, counted);
    await checkWebhookUrl(`https://${PUBLIC_V4}/`, { allowedHosts: [] }, counted);
    await checkWebhookUrl('https://dev.internal/', { allowedHosts: ['dev.internal'] }, counted);
    expect(counted.calls).toEqual(['hooks.example.com']);
  });

  it('names the kind of address refused, never the address, in its message', async () => {
    const refused = await checkWebhookUrl('https://internal.example.com/', { allowedHosts: [] }, resolve).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(WebhookDestinationError);
    const error = refused as WebhookDestinationError;
    expect(error.message).toMatch(/private address/);
    expect(error.message).not.toContain('10.0.0.7');
    expect(error.refused).toEqual({ kind: 'private', address: '10.0.0.7' });
  });

  it('resolves with the system resolver by default (localhost is loopback)', async () => {
    expect(await outcome(checkWebhookUrl('https://localhost/', { allowedHosts: [] }))).toBe('PRIVATE_ADDRESS loopback');
  });
});

describe('createCheckedLookup (what net.connect asks at each connection)', () => {
  const lookupWith = (answers: readonly string[]) => {
    const lookup = createCheckedLookup(async () => answers);
    return (options: { all?: boolean; family?: number }) =>
      new Promise<{ error: unknown; address: string | LookupAddress[]; family: number | undefined }>((resolve) =>
        lookup('hooks.example.com', options, (error, address, family) => resolve({ error, address, family })),
      );
  };

  it('answers one address, or all of them (Happy Eyeballs), only when every one is public', async () => {
    const lookup = lookupWith([PUBLIC_V6, PUBLIC_V4]);
    expect(await lookup({})).toEqual({ error: null, address: PUBLIC_V6, family: 6 });
    expect(await lookup({ all: true })).toEqual({
      error: null,
      address: [
        { address: PUBLIC_V6, family: 6 },
        { address: PUBLIC_V4, family: 4 },
      ],
      family: undefined,
    });
    expect(await lookup({ family: 4 })).toEqual({ error: null, address: PUBLIC_V4, family: 4 });
  });

  it('refuses when any address is not public, or none is left of the family asked', async () => {
    const refused = await lookupWith([PUBLIC_V4, '169.254.169.254'])({ all: true });
    expect(refused.error).toBeInstanceOf(WebhookDestinationError);
    expect((refused.error as WebhookDestinationError).refused?.kind).toBe('metadata');
    const noV6 = await lookupWith([PUBLIC_V4])({ family: 6 });
    expect((noV6.error as WebhookDestinationError).reason).toBe('UNRESOLVABLE');
    const nothing = await lookupWith([])({});
    expect((nothing.error as WebhookDestinationError).reason).toBe('UNRESOLVABLE');
  });
});

describe('WEBHOOK_ALLOWED_HOSTS', () => {
  const allowedHosts = (value: string) => loadConfig({ WEBHOOK_ALLOWED_HOSTS: value }).webhooks.allowedHosts;

  it('is empty by default', () => {
    expect(loadConfig({}).webhooks.allowedHosts).toEqual([]);
  });

  it('reads host and host:port items, written as a URL writes its host', () => {
    expect(allowedHosts(' Hooks.Internal , 127.0.0.1:8080,[FD00:0::1]:08443, localhost, 0x7f.1:9000, bücher.example ')).toEqual([
      'hooks.internal',
      '127.0.0.1:8080',
      '[fd00::1]:8443',
      'localhost',
      '127.0.0.1:9000',
      'xn--bcher-kva.example',
    ]);
  });

  it.each([
    'http://hooks.internal',
    'hooks.internal/path',
    'user@hooks.internal',
    'hooks.internal:0',
    'hooks.internal:65536',
    'hooks.internal:http',
    'fd00::1',
    '[fd00::1',
    '[not-v6]:80',
    '*.internal',
    'hooks internal',
    'a:1:2',
  ])('refuses %j, naming the variable', (value) => {
    expect(() => allowedHosts(value)).toThrow(InvalidConfiguration);
    expect(() => allowedHosts(value)).toThrow(/^WEBHOOK_ALLOWED_HOSTS lists/);
  });
});
