// Between Envoy's ext_proc messages and the flow engine's message model: headers in (raw_value bytes),
// the attributes Envoy was asked to send, and out again as HeaderMutation / CommonResponse /
// ImmediateResponse. Header values are text in the flow: bytes that are valid UTF-8 are decoded as
// UTF-8 and written back as UTF-8, so they round-trip unchanged (headerText, headerBytes).
import { isUtf8 } from 'node:buffer';
import { DeferredHeaders, type HeaderChanges, type Request, type Response } from '../flow/message.ts';
import type {
  CommonResponse,
  EnvoyHeaderMap,
  HeaderMutation,
  HeaderValueOption,
  ImmediateResponse,
  ProcessingRequest,
  Struct,
} from './envoy-proto.ts';

export const EXT_PROC_ATTRIBUTES = 'envoy.filters.http.ext_proc';

/** The pseudo-headers a message carries that the flow reads, by name (fields: no Map per message). */
export class PseudoHeaders {
  method: string | undefined = undefined;
  path: string | undefined = undefined;
  scheme: string | undefined = undefined;
  authority: string | undefined = undefined;
  status: string | undefined = undefined;

  get(name: string): string | undefined {
    switch (name) {
      case ':method':
        return this.method;
      case ':path':
        return this.path;
      case ':scheme':
        return this.scheme;
      case ':authority':
        return this.authority;
      case ':status':
        return this.status;
      default:
        return undefined;
    }
  }

  /** Keeps the value of a pseudo-header the flow reads (any other is left out, as Envoy sends none). */
  set(name: string, value: string): void {
    switch (name) {
      case ':method':
        this.method = value;
        break;
      case ':path':
        this.path = value;
        break;
      case ':scheme':
        this.scheme = value;
        break;
      case ':authority':
        this.authority = value;
        break;
      case ':status':
        this.status = value;
        break;
    }
  }
}

type EnvoyHeaderList = NonNullable<EnvoyHeaderMap['headers']>;

/** A received header's value as the flow's text (raw_value, else value). */
function valueOf(h: EnvoyHeaderList[number]): string {
  return h.rawValue && h.rawValue.length > 0 ? headerText(h.rawValue) : h.value;
}

/**
 * A headers message as received: the pseudo-headers read at once, the others only when first asked for
 * (most flows never read a response's headers; an empty flow reads none), then kept. The message
 * model's HeaderMap takes it as it is (flow/message.ts DeferredHeaders).
 */
export class ReceivedHeaders extends DeferredHeaders {
  /** Pseudo-headers (`:method`, `:path`, `:scheme`, `:authority`, `:status`). */
  readonly pseudo = new PseudoHeaders();
  readonly #list: EnvoyHeaderList;
  #values: Map<string, string[]> | undefined = undefined;

  constructor(list: EnvoyHeaderList) {
    super();
    this.#list = list;
    for (let i = 0; i < list.length; i++) {
      const h = list[i]!;
      if (h.key.charCodeAt(0) === 0x3a /* : */) this.pseudo.set(h.key.toLowerCase(), valueOf(h));
    }
  }

  /**
   * The other headers by lower-case name, every value in order (built on the first call). Never changed
   * after it is built: the HeaderMap copies it before its first change.
   */
  get values(): Map<string, string[]> {
    if (this.#values !== undefined) return this.#values;
    const values = new Map<string, string[]>();
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const h = list[i]!;
      if (h.key.charCodeAt(0) === 0x3a) continue;
      const name = h.key.toLowerCase();
      const value = valueOf(h);
      const known = values.get(name);
      if (known === undefined) values.set(name, [value]);
      else known.push(value);
    }
    this.#values = values;
    return values;
  }

  /** The first value of a header (a lower-case name), reading only that one while the rest are not needed. */
  first(name: string): string | undefined {
    if (this.#values !== undefined) return this.#values.get(name)?.[0];
    const list = this.#list;
    for (let i = 0; i < list.length; i++) {
      const h = list[i]!;
      if (h.key === name || h.key.toLowerCase() === name) return valueOf(h);
    }
    return undefined;
  }
}

/**
 * A header value's bytes as the flow's text: UTF-8 when they are valid UTF-8, else one character per
 * byte (latin1, so no byte is lost). A non-ASCII API key sent in a header then reads as the same text
 * as the same key sent percent-encoded in the query string, and hashes the same (the compiler hashes
 * a key's UTF-8 bytes).
 */
export function headerText(raw: Buffer): string {
  // Nearly every value is ASCII: one scan, and its latin1 reading is its UTF-8 one.
  for (let i = 0; i < raw.length; i++) {
    if (raw[i]! >= 0x80) return isUtf8(raw) ? raw.toString('utf8') : raw.toString('latin1');
  }
  return raw.toString('latin1');
}

/**
 * A header value's text as bytes for Envoy: UTF-8, which gives back exactly the bytes of every value
 * that arrived as valid UTF-8 (all of ASCII included). A value that arrived as invalid UTF-8 and that a
 * policy copies or sets is written as the UTF-8 of its latin1 reading.
 */
export function headerBytes(value: string): Buffer {
  return Buffer.from(value, 'utf8');
}

export function receiveHeaders(map: EnvoyHeaderMap | null | undefined): ReceivedHeaders {
  return new ReceivedHeaders(map?.headers ?? []);
}

export interface ConnectionAttributes {
  /** The downstream peer address without its port. */
  clientIp: string;
  requestId: string;
  mtls: boolean;
  routeName: string;
}

function structString(struct: Struct | undefined, key: string): string {
  const value = struct?.fields?.[key];
  if (!value) return '';
  // The one member of the `kind` oneof that is set (the generated codecs' `kind` is a getter that lists
  // the message's keys on every read; proto-loader leaves the other members unset).
  if (typeof value.stringValue === 'string') return value.stringValue;
  if (typeof value.numberValue === 'number') return String(value.numberValue);
  if (typeof value.boolValue === 'boolean') return String(value.boolValue);
  return '';
}

export function receiveAttributes(req: ProcessingRequest): ConnectionAttributes {
  const attrs = req.attributes?.[EXT_PROC_ATTRIBUTES];
  return {
    clientIp: stripPort(structString(attrs, 'source.address')),
    requestId: structString(attrs, 'request.id'),
    mtls: structString(attrs, 'connection.mtls') === 'true',
    routeName: structString(attrs, 'xds.route_name'),
  };
}

/** "10.0.0.1:5678" -> "10.0.0.1", "[::1]:5678" -> "::1"; a bare address is returned as is. */
export function stripPort(address: string): string {
  if (address.startsWith('[')) {
    const end = address.indexOf(']');
    return end < 0 ? address : address.slice(1, end);
  }
  const colon = address.indexOf(':');
  return colon >= 0 && address.indexOf(':', colon + 1) < 0 ? address.slice(0, colon) : address;
}

/**
 * Headers only Envoy sets (pseudo-headers, x-envoy*): a response replayed as an immediate response (a
 * cache hit) leaves them out, since Envoy adds its own. A policy's change of one never gets here: the
 * flow refuses it (flow/allowed-changes.ts, docs/architecture.md#the-envoy-and-extproc-contract).
 */
export function isEnvoyOwnedHeader(name: string): boolean {
  return name.startsWith(':') || name.startsWith('x-envoy');
}

/**
 * Envoy's ext_proc (MutationUtils::applyHeaderMutations, v1.36) reads only the deprecated `append`
 * flag, unset meaning overwrite, and ignores `append_action`: both are set, so that every value of a
 * multi-value header (Set-Cookie, Vary) survives on Envoy and on anything reading append_action.
 */
function option(key: string, value: string, append: boolean): HeaderValueOption {
  return {
    header: { key, rawValue: headerBytes(value) },
    append: { value: append },
    appendAction: append ? 'APPEND_IF_EXISTS_OR_ADD' : 'OVERWRITE_IF_EXISTS_OR_ADD',
  };
}

/**
 * The mutation for a message's header changes, already held to the compiled mutation rules by the flow;
 * `pseudo` are the verb, path and status rewrites.
 */
export function headerMutation(
  changes: HeaderChanges,
  pseudo: Array<[string, string]>,
  removeContentLength: boolean,
): HeaderMutation | undefined {
  const setHeaders = pseudo.map(([k, v]) => option(k, v, false));
  for (const s of changes.set)
    if (!(removeContentLength && s.name === 'content-length')) setHeaders.push(option(s.name, s.value, s.append));
  const removeHeaders = [...changes.remove];
  if (removeContentLength) removeHeaders.push('content-length');
  if (setHeaders.length === 0 && removeHeaders.length === 0) return undefined;
  return { setHeaders, removeHeaders };
}

/** What the flow changed in the request, as the CommonResponse for the message it ran on. */
export function requestChanges(request: Request, atHeaders: boolean): CommonResponse {
  if (
    !request.headers.changed &&
    !request.body.changed &&
    request.method === request.original.method &&
    !request.targetChanged
  )
    return {};
  const pseudo: Array<[string, string]> = [];
  if (request.method !== request.original.method) pseudo.push([':method', request.method]);
  if (request.targetChanged) pseudo.push([':path', request.target]);
  return commonResponse(
    request.headers.changeList(),
    pseudo,
    request.body.changed ? request.body.bytes() : undefined,
    atHeaders,
  );
}

export function responseChanges(response: Response, atHeaders: boolean): CommonResponse {
  if (!response.headers.changed && !response.body.changed && response.status === response.originalStatus) return {};
  const pseudo: Array<[string, string]> =
    response.status !== response.originalStatus ? [[':status', String(response.status)]] : [];
  return commonResponse(
    response.headers.changeList(),
    pseudo,
    response.body.changed ? response.body.bytes() : undefined,
    atHeaders,
  );
}

/**
 * A body set while answering a headers message needs CONTINUE_AND_REPLACE (Envoy then sends no body
 * for that direction); on a body message it is a plain body mutation. The content-length of a
 * replaced body is removed: Envoy recomputes the framing.
 */
function commonResponse(
  changes: HeaderChanges,
  pseudo: Array<[string, string]>,
  body: Buffer | undefined,
  atHeaders: boolean,
): CommonResponse {
  const out: CommonResponse = {};
  const mutation = headerMutation(changes, pseudo, body !== undefined);
  if (mutation) out.headerMutation = mutation;
  if (body !== undefined) {
    out.bodyMutation = { body };
    if (atHeaders) out.status = 'CONTINUE_AND_REPLACE';
  }
  return out;
}

export function immediateResponse(response: Response, details: string): ImmediateResponse {
  const setHeaders: HeaderValueOption[] = [];
  for (const [name, values] of response.headers.entries()) {
    if (isEnvoyOwnedHeader(name) || name === 'content-length') continue;
    values.forEach((v, i) => setHeaders.push(option(name, v, i > 0)));
  }
  return { status: { code: response.status as never }, headers: { setHeaders }, body: response.body.bytes(), details };
}
