import { isIPv4, isIPv6 } from 'node:net';

/**
 * Which addresses a webhook may reach: public unicast ones only. Every other address has a kind,
 * named in the refusal so its owner learns why. IPv4 is refused by range (IANA's special-purpose
 * registry, multicast, the cloud metadata addresses); IPv6 is allowed only in global unicast
 * (2000::/3) outside its special ranges, and an IPv6 address that carries an IPv4 one (IPv4-mapped,
 * NAT64, 6to4, IPv4-compatible, IPv4-translated) is judged by the IPv4 address it reaches.
 */
export type AddressKind =
  | 'unspecified'
  | 'loopback'
  | 'private'
  | 'carrier-grade-nat'
  | 'link-local'
  | 'metadata'
  | 'unique-local'
  | 'multicast'
  /** Documentation, benchmarking, protocol assignments, future use, broadcast, and IPv6 outside global unicast. */
  | 'reserved';

type Range = readonly [bytes: readonly number[], prefixLength: number, kind: AddressKind];

const range = (cidr: string, kind: AddressKind): Range => {
  const [address, length] = cidr.split('/') as [string, string];
  return [parseAddress(address)!, Number(length), kind];
};

/** In order: the first range holding the address names its kind (metadata before link-local). */
const IPV4_RANGES: readonly Range[] = [
  // Cloud instance metadata: AWS, GCP, Azure, OpenStack, Oracle, DigitalOcean (and AWS ECS task metadata)…
  range('169.254.169.254/32', 'metadata'),
  range('169.254.170.2/32', 'metadata'),
  // …Alibaba Cloud (inside 100.64/10), Azure's WireServer (a public address only the platform answers).
  range('100.100.100.200/32', 'metadata'),
  range('168.63.129.16/32', 'metadata'),
  range('0.0.0.0/8', 'unspecified'),
  range('10.0.0.0/8', 'private'),
  range('172.16.0.0/12', 'private'),
  range('192.168.0.0/16', 'private'),
  range('100.64.0.0/10', 'carrier-grade-nat'),
  range('127.0.0.0/8', 'loopback'),
  range('169.254.0.0/16', 'link-local'),
  range('192.0.0.0/24', 'reserved'),
  range('192.0.2.0/24', 'reserved'),
  range('192.88.99.0/24', 'reserved'),
  range('198.18.0.0/15', 'reserved'),
  range('198.51.100.0/24', 'reserved'),
  range('203.0.113.0/24', 'reserved'),
  range('224.0.0.0/4', 'multicast'),
  range('240.0.0.0/4', 'reserved'),
];

/** IPv6 ranges judged as themselves, in order; what none holds is public if in 2000::/3. */
const IPV6_RANGES: readonly Range[] = [
  range('::/128', 'unspecified'),
  range('::1/128', 'loopback'),
  // AWS's instance metadata over IPv6 (inside fc00::/7).
  range('fd00:ec2::254/128', 'metadata'),
  // NAT64 for local use (RFC 8215): its translation is the site's own.
  range('64:ff9b:1::/48', 'private'),
  range('fc00::/7', 'unique-local'),
  range('fe80::/10', 'link-local'),
  // Site-local, deprecated: IPv6's first private range.
  range('fec0::/10', 'private'),
  range('ff00::/8', 'multicast'),
  // IETF protocol assignments (Teredo, benchmarking, ORCHID…) and the documentation ranges.
  range('2001::/23', 'reserved'),
  range('2001:db8::/32', 'reserved'),
  range('3fff::/20', 'reserved'),
];

/** IPv6 ranges whose addresses carry an IPv4 address: where it starts, and whether it counts when public. */
const IPV4_CARRIERS: readonly (readonly [Range, ipv4At: number, publicIsPublic: boolean])[] = [
  [range('::ffff:0:0/96', 'reserved'), 12, true],
  [range('64:ff9b::/96', 'reserved'), 12, true],
  [range('2002::/16', 'reserved'), 2, true],
  // Deprecated forms nobody routes to on purpose: refused, as the kind of the IPv4 address when it has one.
  [range('::/96', 'reserved'), 12, false],
  [range('::ffff:0:0:0/96', 'reserved'), 12, false],
];

const GLOBAL_UNICAST = range('2000::/3', 'reserved');

/**
 * The kind of `address` (an IPv4 or IPv6 address, an IPv6 zone such as `%eth0` allowed), or
 * undefined when it is a public unicast address a webhook may reach. Anything that is not an
 * address is `reserved`: never reachable by mistake.
 */
export function addressKind(address: string): AddressKind | undefined {
  const bytes = parseAddress(address);
  if (bytes === undefined) return 'reserved';
  if (bytes.length === 4) return kindIn(IPV4_RANGES, bytes);
  // The exact ranges first: `::` and `::1` sit inside the IPv4-compatible range.
  const own = kindIn(IPV6_RANGES.slice(0, 2), bytes);
  if (own !== undefined) return own;
  for (const [carrier, ipv4At, publicIsPublic] of IPV4_CARRIERS) {
    if (!inRange(carrier, bytes)) continue;
    const carried = kindIn(IPV4_RANGES, bytes.slice(ipv4At, ipv4At + 4));
    return carried ?? (publicIsPublic ? undefined : 'reserved');
  }
  return kindIn(IPV6_RANGES, bytes) ?? (inRange(GLOBAL_UNICAST, bytes) ? undefined : 'reserved');
}

function kindIn(ranges: readonly Range[], bytes: readonly number[]): AddressKind | undefined {
  return ranges.find((candidate) => inRange(candidate, bytes))?.[2];
}

function inRange([prefix, length]: Range, bytes: readonly number[]): boolean {
  if (prefix.length !== bytes.length) return false;
  for (let bit = 0; bit < length; bit += 8) {
    const bits = Math.min(8, length - bit);
    const mask = (0xff << (8 - bits)) & 0xff;
    if (((bytes[bit / 8]! ^ prefix[bit / 8]!) & mask) !== 0) return false;
  }
  return true;
}

/** The bytes of an IPv4 (4) or IPv6 (16) address, or undefined when `address` is neither. */
function parseAddress(address: string): number[] | undefined {
  const unzoned = address.replace(/%.*$/, '');
  if (isIPv4(unzoned)) return unzoned.split('.').map(Number);
  if (!isIPv6(unzoned)) return undefined;
  let text = unzoned.toLowerCase();
  // A dotted IPv4 tail (`::ffff:127.0.0.1`) becomes two groups.
  const tail = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (tail) {
    const [a, b, c, d] = tail.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, tail.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const groups = (part: string | undefined) => (part ? part.split(':').map((group) => Number.parseInt(group, 16)) : []);
  const first = groups(head);
  const last = groups(rest);
  const words = rest === undefined ? first : [...first, ...new Array<number>(8 - first.length - last.length).fill(0), ...last];
  return words.flatMap((word) => [word >> 8, word & 0xff]);
}
