// The request and response attributes Envoy's ext_proc filter sends (Filter::addAttributes,
// ExpressionManager::evaluateAttributes): under the key "envoy.filters.http.ext_proc", a Struct whose
// field names are the attribute expressions as configured. Integers become number_value, booleans
// bool_value, everything else string_value; an attribute with no value (no route matched, no
// x-request-id) is left out. Only the attributes below can be evaluated here: a config asking for
// another is rejected (config/ext-proc.ts).
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import { header, type HttpRequest, type HttpResponse } from '../http/message.ts';

/** The key of the attributes map, whatever the filter's configured name. */
export const extProcAttributesKey = 'envoy.filters.http.ext_proc';

/** What the connection and the router know about a request. */
export interface ConnectionInfo {
  /** The downstream peer as Envoy prints it: `1.2.3.4:5678`, `[::1]:5678`. */
  sourceAddress?: string;
  sourcePort?: number;
  /** The listener address the request arrived on, printed the same way. */
  destinationAddress?: string;
  destinationPort?: number;
  /** request.id; by default the request's x-request-id. */
  requestId?: string;
  mtls?: boolean;
  /** The matched route's name; undefined when no route matched. */
  routeName?: string;
  /** The matched route's cluster. */
  clusterName?: string;
}

type Value = { stringValue: string } | { numberValue: number } | { boolValue: boolean };

const str = (v: string | undefined): Value | undefined => (v === undefined ? undefined : { stringValue: v });
const num = (v: number | undefined): Value | undefined => (v === undefined ? undefined : { numberValue: v });

const requestAttributes: Record<string, (c: ConnectionInfo, r: HttpRequest) => Value | undefined> = {
  'source.address': (c) => str(c.sourceAddress),
  'source.port': (c) => num(c.sourcePort),
  'destination.address': (c) => str(c.destinationAddress),
  'destination.port': (c) => num(c.destinationPort),
  'request.id': (c, r) => str(c.requestId ?? header(r.headers, 'x-request-id')),
  'request.path': (_c, r) => str(r.path),
  'request.url_path': (_c, r) => str(r.path.split('?')[0]),
  'request.query': (_c, r) => str(r.path.includes('?') ? r.path.slice(r.path.indexOf('?') + 1) : ''),
  'request.host': (_c, r) => str(r.authority),
  'request.scheme': (_c, r) => str(r.scheme),
  'request.method': (_c, r) => str(r.method),
  'request.protocol': (_c, r) => str(r.protocol),
  'request.referer': (_c, r) => str(header(r.headers, 'referer')),
  'request.useragent': (_c, r) => str(header(r.headers, 'user-agent')),
  'connection.mtls': (c) => (c.mtls === undefined ? undefined : { boolValue: c.mtls }),
  'xds.route_name': (c) => str(c.routeName),
  'xds.cluster_name': (c) => str(c.clusterName),
};

const responseAttributes: Record<string, (r: HttpResponse) => Value | undefined> = {
  'response.code': (r) => num(r.status),
};

/** Whether devproxy can evaluate this attribute in that direction. */
export const canEvaluate = (direction: 'request' | 'response', name: string) =>
  name in (direction === 'request' ? requestAttributes : responseAttributes);

/** Every attribute a ConnectionInfo carries (for drivers that give no attribute list). */
export function presentAttributes(c: ConnectionInfo | undefined): string[] {
  if (!c) return [];
  const names: Array<[keyof ConnectionInfo, string]> = [
    ['sourceAddress', 'source.address'],
    ['requestId', 'request.id'],
    ['mtls', 'connection.mtls'],
    ['routeName', 'xds.route_name'],
  ];
  return names.filter(([k]) => c[k] !== undefined).map(([, n]) => n);
}

function struct(fields: Record<string, Value>): ProcessingRequest['attributes'] {
  return { [extProcAttributesKey]: { fields } };
}

export function evaluateRequestAttributes(
  names: readonly string[],
  c: ConnectionInfo,
  request: HttpRequest,
): ProcessingRequest['attributes'] {
  const fields: Record<string, Value> = {};
  for (const name of names) {
    const value = requestAttributes[name]?.(c, request);
    if (value !== undefined) fields[name] = value;
  }
  return struct(fields);
}

export function evaluateResponseAttributes(
  names: readonly string[],
  response: HttpResponse,
): ProcessingRequest['attributes'] {
  const fields: Record<string, Value> = {};
  for (const name of names) {
    const value = responseAttributes[name]?.(response);
    if (value !== undefined) fields[name] = value;
  }
  return struct(fields);
}

/** How Envoy prints an IP address with a port: `[ip]:port` for IPv6 (an IPv4-mapped peer is IPv4). */
export function formatAddress(ip: string, port: number): string {
  const v4 = ip.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
  return v4.includes(':') ? `[${v4}]:${port}` : `${v4}:${port}`;
}
