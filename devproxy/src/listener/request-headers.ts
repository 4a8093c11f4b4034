// What Envoy's HttpConnectionManager does to a request's headers before routing
// (source/common/http/conn_manager_utility.cc, v1.36): ConnectionManagerUtility::maybeNormalizeHost,
// mutateRequestHeaders (hop-by-hop and proxy headers removed, x-forwarded-for / -proto,
// internal or edge, cleanInternalHeaders, x-envoy-external-address, x-request-id through the UUID
// request ID extension, x-forwarded-client-cert sanitised).
import { randomUUID } from 'node:crypto';
import { BlockList, isIP } from 'node:net';
import { networkInterfaces } from 'node:os';
import { header, withHeader, withoutHeader, type HeaderList, type HttpRequest } from '../http/message.ts';
import type { HcmConfig } from '../config/model.ts';

/** A downstream peer's IP as Envoy sees it: an IPv4-mapped IPv6 address is IPv4. */
export const peerIp = (address: string) => address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');

/** Network::Utility::isLoopbackAddress: exactly 127.0.0.1 or ::1. */
export const isLoopbackAddress = (ip: string) => ip === '127.0.0.1' || ip === '::1';

/** Network::Utility::isInternalAddress: RFC 1918, 127.0.0.1; fd00::/8 (RFC 4193's assigned half) and ::1. */
function isRfcInternal(ip: string): boolean {
  if (isIP(ip) === 4) {
    const [a = 0, b = 0] = ip.split('.').map(Number);
    return a === 10 || (a === 192 && b === 168) || (a === 172 && b >= 16 && b <= 31) || ip === '127.0.0.1';
  }
  return /^fd/i.test(ip) || ip === '::1';
}

/** InternalAddressConfig::isInternalAddress: unset config, nothing (1.36); empty ranges, the RFC ones; else the ranges. */
export function isInternalAddress(ip: string, config: HcmConfig['internalAddresses']): boolean {
  if (!config) return false;
  if (config.cidrs.length === 0) return isRfcInternal(ip);
  const list = new BlockList();
  for (const c of config.cidrs) {
    const family = isIP(c.address) === 6 ? 'ipv6' : 'ipv4';
    list.addSubnet(c.address, c.prefixLength, family);
  }
  return list.check(ip, isIP(ip) === 6 ? 'ipv6' : 'ipv4');
}

let cachedLocalAddress: string | undefined;

/**
 * LocalInfo's address (Network::Utility::getLocalAddress(v4)): the host's first non-loopback IPv4
 * address, or 127.0.0.1 when it has none. Envoy appends it to x-forwarded-for for a loopback peer.
 */
export function localAddress(): string {
  cachedLocalAddress ??=
    Object.values(networkInterfaces())
      .flat()
      .find((a) => a?.family === 'IPv4' && !a.internal)?.address ?? '127.0.0.1';
  return cachedLocalAddress;
}

/** ConnectionManagerUtility::maybeNormalizeHost: strip_trailing_host_dot, then strip_any_host_port. */
export function normalizeHost(authority: string, hcm: Pick<HcmConfig, 'stripTrailingHostDot' | 'stripPort'>): string {
  let host = authority;
  const portAt = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
  if (hcm.stripTrailingHostDot) {
    host =
      portAt >= 0 && /^\d+$/.test(host.slice(portAt + 1))
        ? host.slice(0, portAt).replace(/\.$/, '') + host.slice(portAt)
        : host.replace(/\.$/, '');
  }
  if (hcm.stripPort === 'any') {
    const at = host.startsWith('[') ? host.indexOf(':', host.indexOf(']')) : host.lastIndexOf(':');
    if (at >= 0 && (host.startsWith('[') || host.indexOf(':') === at) && /^\d+$/.test(host.slice(at + 1)))
      host = host.slice(0, at);
  }
  return host;
}

/** Removed from every request that is not internal (edge-only ones first). */
const edgeOnlyInternalHeaders = [
  'x-envoy-decorator-operation',
  'x-envoy-downstream-service-cluster',
  'x-envoy-downstream-service-node',
];
const internalHeaders = [
  'x-envoy-retriable-status-codes',
  'x-envoy-retriable-header-names',
  'x-envoy-retry-on',
  'x-envoy-retry-grpc-on',
  'x-envoy-max-retries',
  'x-envoy-upstream-alt-stat-name',
  'x-envoy-upstream-rq-timeout-ms',
  'x-envoy-upstream-rq-per-try-timeout-ms',
  'x-envoy-upstream-rq-timeout-alt-response',
  'x-envoy-expected-rq-timeout-ms',
  'x-envoy-force-trace',
  'x-envoy-ip-tags',
  'x-envoy-original-url',
  'x-envoy-hedge-on-per-try-timeout',
];

/** Utility::isUpgrade: a `connection` header naming upgrade, and an `upgrade` header. */
export function isUpgrade(headers: HeaderList): boolean {
  const connection = headers
    .filter(([n]) => n === 'connection')
    .map(([, v]) => v)
    .join(',');
  return (
    header(headers, 'upgrade') !== undefined && connection.split(',').some((t) => t.trim().toLowerCase() === 'upgrade')
  );
}

/** Utility::getLastAddressFromXFF: the address `skip` entries from the right, when there are enough and it is an IP. */
function lastAddressFromXff(headers: HeaderList, skip: number): string | undefined {
  const xff = header(headers, 'x-forwarded-for');
  if (xff === undefined) return undefined;
  const entries = xff.split(',').map((e) => e.trim());
  const candidate = entries[entries.length - 1 - skip];
  return candidate !== undefined && isIP(candidate) ? candidate : undefined;
}

/** The UUID request ID extension's set(): generate when absent, replace at the edge unless preserved. */
function setRequestId(headers: HeaderList, edge: boolean, hcm: HcmConfig): HeaderList {
  if (!hcm.generateRequestId) return headers;
  const current = header(headers, 'x-request-id');
  if (current === undefined || current === '') return withHeader(headers, 'x-request-id', randomUUID());
  if (!edge) return headers;
  if (!hcm.preserveExternalRequestId) return withHeader(headers, 'x-request-id', randomUUID());
  // pack_trace_reason: an external ID is not trusted to carry a trace reason (UUID byte 14 becomes NO_TRACE, '4').
  return current.length === 36
    ? withHeader(headers, 'x-request-id', `${current.slice(0, 14)}4${current.slice(15)}`)
    : headers;
}

export interface RequestContext {
  peer: string;
  secure: boolean;
  internalOnlyHeaders: readonly string[];
}

export interface MutatedRequest {
  request: HttpRequest;
  /** The downstream address Envoy settled on (the peer, or from x-forwarded-for with trusted hops). */
  remoteAddress: string;
  edge: boolean;
  internal: boolean;
}

/** ConnectionManagerUtility::mutateRequestHeaders (not an upgrade: devproxy refuses those before). */
export function mutateRequestHeaders(request: HttpRequest, hcm: HcmConfig, c: RequestContext): MutatedRequest {
  let headers = request.headers;
  for (const name of [
    'connection',
    'upgrade',
    'x-envoy-internal',
    'keep-alive',
    'proxy-connection',
    'transfer-encoding',
  ])
    headers = withoutHeader(headers, name);
  const referers = headers.filter(([n]) => n === 'referer');
  if (referers.length > 1 || (referers.length === 1 && !URL.canParse(referers[0]![1])))
    headers = withoutHeader(headers, 'referer');

  const scheme = c.secure ? 'https' : 'http';
  let finalRemote: string | undefined;
  let trustedAddressChecks = false;
  if (hcm.useRemoteAddress) {
    trustedAddressChecks = header(headers, 'x-forwarded-for') === undefined;
    if (hcm.xffNumTrustedHops > 0) finalRemote = lastAddressFromXff(headers, hcm.xffNumTrustedHops - 1);
    finalRemote ??= c.peer;
    if (!hcm.skipXffAppend) {
      const appended = isLoopbackAddress(c.peer) ? localAddress() : c.peer;
      const xff = headers
        .filter(([n]) => n === 'x-forwarded-for')
        .map(([, v]) => v)
        .join(',');
      headers = withHeader(headers, 'x-forwarded-for', xff === '' ? appended : `${xff},${appended}`);
    }
    if (hcm.xffNumTrustedHops === 0 || header(headers, 'x-forwarded-proto') === undefined)
      headers = withHeader(headers, 'x-forwarded-proto', scheme);
  }
  if (header(headers, 'x-forwarded-proto') === undefined) headers = withHeader(headers, 'x-forwarded-proto', scheme);
  const forwardedProto = header(headers, 'x-forwarded-proto') ?? '';
  const requestScheme = request.scheme ?? (/^https?$/i.test(forwardedProto) ? forwardedProto : scheme);

  const internal =
    trustedAddressChecks && finalRemote !== undefined && isInternalAddress(finalRemote, hcm.internalAddresses);
  finalRemote ??= c.peer;
  const edge = !internal && hcm.useRemoteAddress;
  if (internal) {
    headers = withHeader(headers, 'x-envoy-internal', 'true');
  } else {
    const clean = new Set([...(edge ? edgeOnlyInternalHeaders : []), ...internalHeaders, ...c.internalOnlyHeaders]);
    headers = headers.filter(([n]) => !clean.has(n));
  }
  if (edge) headers = withHeader(headers, 'x-envoy-external-address', finalRemote);
  headers = setRequestId(headers, edge, hcm);
  headers = withoutHeader(headers, 'x-forwarded-client-cert'); // forward_client_cert_details: SANITIZE
  return { request: { ...request, scheme: requestScheme, headers }, remoteAddress: finalRemote, edge, internal };
}
