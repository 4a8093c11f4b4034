// Which upstream addresses an ApiProxy may not target (and extproc may not fetch keys from): link-local (169.254.0.0/16, fe80::/10), the
// unspecified addresses (0.0.0.0/8, ::) and the cloud metadata services (169.254.169.254,
// fd00:ec2::254, 100.100.100.200, metadata.google.internal, ...). Envoy would fetch the node's cloud
// credentials for any client that calls such a proxy. A DataPlane may allow them
// (spec.upstream.allowLinkLocalTargets).
//
// Host names arrive as WHATWG URL parsing canonicalises them: every IPv4 spelling (2852039166,
// 0xa9fea9fe, 0251.0376.0251.0376, 169.254.43518) is already 169.254.169.254, IPv6 is compressed
// lower case, names are lower case. Classes are checked with net.BlockList, never by pattern on text.
import { BlockList, isIP } from 'node:net';

export type RefusedAddressClass = 'cloud metadata' | 'link-local' | 'unspecified';

function blockList(ipv4: string[], ipv6: string[]): BlockList {
  const list = new BlockList();
  for (const cidr of ipv4) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv4');
  }
  for (const cidr of ipv6) {
    const [net, bits] = cidr.split('/') as [string, string];
    list.addSubnet(net, Number(bits), 'ipv6');
  }
  return list;
}

// First match wins: metadata before link-local, so 169.254.169.254 is named for what it is.
// BlockList matches IPv4-mapped IPv6 (::ffff:a.b.c.d) against the IPv4 rules by itself.
const classes: { name: RefusedAddressClass; list: BlockList }[] = [
  {
    name: 'cloud metadata',
    list: blockList(
      // AWS, GCP, Azure, OpenStack, ...; ECS task metadata; Alibaba Cloud.
      ['169.254.169.254/32', '169.254.170.2/32', '100.100.100.200/32'],
      // AWS's IPv6 instance metadata endpoint.
      ['fd00:ec2::254/128'],
    ),
  },
  { name: 'link-local', list: blockList(['169.254.0.0/16'], ['fe80::/10']) },
  // 0.0.0.0 (and the rest of "this network") reaches the node itself on Linux.
  { name: 'unspecified', list: blockList(['0.0.0.0/8'], ['::/128']) },
];

/** Names that resolve to a metadata service inside the clouds that define them (lower case, no trailing dot). */
const metadataNames = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * NAT64's well-known prefix carries an IPv4 address in the low 32 bits, which a NAT64 gateway dials.
 * (IPv4-mapped ::ffff:0:0/96 needs nothing: BlockList matches it against the IPv4 rules.)
 */
const nat64 = blockList([], ['64:ff9b::/96']);

function embeddedIpv4(ipv6: string): string | undefined {
  if (!nat64.check(ipv6, 'ipv6')) return undefined;
  const groups = expandIpv6(ipv6);
  const high = groups[6]!;
  const low = groups[7]!;
  return [high >> 8, high & 0xff, low >> 8, low & 0xff].join('.');
}

/** The eight 16-bit groups of an IPv6 address (net.isIP says it is one). */
function expandIpv6(address: string): number[] {
  let text = address;
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, dotted.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => parseInt(g, 16)));
  const left = parse(head);
  const right = tail === undefined ? [] : parse(tail);
  return [...left, ...Array<number>(8 - left.length - right.length).fill(0), ...right];
}

/**
 * Why `host` (a URL's hostname: brackets of IPv6 literals removed) may not be targeted, or undefined
 * when it may. A name is judged by the name only: one that resolves to such an address at run time is
 * not caught here (see docs/operations.md, egress NetworkPolicy).
 */
export function refusedTargetClass(host: string): RefusedAddressClass | undefined {
  const name = host.toLowerCase().replace(/\.$/, '');
  const family = isIP(name);
  if (family === 0) return metadataNames.has(name) ? 'cloud metadata' : undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const c of classes) if (c.list.check(name, type)) return c.name;
  const inner = family === 6 ? embeddedIpv4(name) : undefined;
  return inner === undefined ? undefined : refusedTargetClass(inner);
}

/** Address classes a callout (ServiceCallout) refuses unless the DataPlane names the network. */
export type PrivateAddressClass = 'private' | 'loopback' | 'shared address space' | 'unique local';

// RFC 1918, RFC 6598 (carrier-grade NAT), loopback and IPv6 unique local addresses: the networks
// inside a cluster and a company. An ApiProxy target names its Service deliberately, so targets may
// be private; a callout URL is often built from request data, so callouts may not, unless the
// DataPlane lists the network (spec.upstream.calloutPrivateNetworks, docs/policies.md#servicecallout).
const privateClasses: { name: PrivateAddressClass; list: BlockList }[] = [
  { name: 'private', list: blockList(['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'], []) },
  { name: 'loopback', list: blockList(['127.0.0.0/8'], ['::1/128']) },
  { name: 'shared address space', list: blockList(['100.64.0.0/10'], []) },
  { name: 'unique local', list: blockList([], ['fc00::/7']) },
];

/** Why an IP address is private in the sense above, or undefined (names are not judged: resolve first). */
export function privateAddressClass(address: string): PrivateAddressClass | undefined {
  const family = isIP(address);
  if (family === 0) return undefined;
  const type = family === 4 ? 'ipv4' : 'ipv6';
  for (const c of privateClasses) if (c.list.check(address, type)) return c.name;
  const inner = family === 6 ? embeddedIpv4(address) : undefined;
  return inner === undefined ? undefined : privateAddressClass(inner);
}

/** A BlockList of CIDRs ("10.20.0.0/16", "fd00:1::/64"); throws on one that does not parse. */
export function networkList(cidrs: readonly string[]): BlockList {
  const list = new BlockList();
  for (const cidr of cidrs) {
    const [net, bits] = cidr.split('/');
    const family = isIP(net ?? '');
    if (family === 0 || bits === undefined || !/^\d{1,3}$/.test(bits)) throw new Error(`${cidr} is not a CIDR`);
    const prefix = Number(bits);
    if (prefix > (family === 4 ? 32 : 128)) throw new Error(`${cidr} is not a CIDR`);
    list.addSubnet(net!, prefix, family === 4 ? 'ipv4' : 'ipv6');
  }
  return list;
}
