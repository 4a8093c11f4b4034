// The message model policies see (docs/architecture.md#the-flow-engine): headers that remember what changed, so the server can
// send Envoy a minimal HeaderMutation, and a body that is parsed at most once and re-serialised only
// when a policy changed it.
import secureJson from 'secure-json-parse';
import { GatehouseError } from '../../../lib/errors.ts';
import { classifyContentType, sniffBodyKind, type BodyKind } from '../../../protos/policies/content-type.ts';
import { checkHeaderChange, checkMethod, checkStatus, checkTarget } from './allowed-changes.ts';
import type { Body, Headers, RequestMessage, ResponseMessage } from './types.ts';

/** A body that is not what its content type says (bad JSON, too deep). Policies may let it escape: the
 * flow engine answers it with a 400 fault. */
export class BodyParseError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_BODY_PARSE', message);
  }
}

export type MessageSide = 'request' | 'response';

/**
 * A body whose Content-Type names more than one media type: the header sent twice (Envoy joins the
 * values with ",") or a list. Which one the upstream would believe is anyone's guess, so it is refused
 * (protos/policies/content-type.ts); the flow engine answers protocol.http.DuplicateHeader.
 */
export class DuplicateContentTypeError extends GatehouseError {
  readonly side: MessageSide;
  constructor(side: MessageSide, count: number) {
    super('GH_ERR_DUPLICATE_CONTENT_TYPE', `the ${side} Content-Type names ${count} media types`);
    this.side = side;
  }
}

/** A body whose Content-Type is not `type/subtype`: refused like a duplicate (gatehouse.InvalidContentType). */
export class MalformedContentTypeError extends GatehouseError {
  readonly side: MessageSide;
  constructor(side: MessageSide) {
    super('GH_ERR_MALFORMED_CONTENT_TYPE', `the ${side} Content-Type is not a media type (type/subtype)`);
    this.side = side;
  }
}

/** Nesting depth beyond which a JSON body is refused before it is parsed (bounds every recursion). */
export const MAX_JSON_DEPTH = 256;

/**
 * A message's headers: by name, as pairs, or a Map of lower-case names to their values in order (the
 * server's received headers, server/translate.ts: copied as it is, its value lists shared and never
 * changed here).
 */
export type HeaderInit =
  | Record<string, string | string[]>
  | Iterable<readonly [string, string]>
  | ReadonlyMap<string, readonly string[]>
  | DeferredHeaders;

/**
 * Headers whose values are read only when first asked for: the server's received headers
 * (server/translate.ts), whose values most flows never read (a response's, an empty flow's).
 */
export abstract class DeferredHeaders {
  /** The headers by lower-case name, every value in order; the HeaderMap never changes it. */
  abstract get values(): ReadonlyMap<string, readonly string[]>;
}

const NO_HEADERS: ReadonlyMap<string, readonly string[]> = new Map();

/** What to tell Envoy about header changes: values to overwrite or append, names to remove. */
export interface HeaderChanges {
  set: Array<{ name: string; value: string; append: boolean }>;
  remove: string[];
}

type HeaderChange = { kind: 'replaced' } | { kind: 'appended'; values: string[] } | { kind: 'removed' };

/** A Map of names to value lists (a Map of names to single values is read as pairs). */
function isListMap(map: ReadonlyMap<unknown, unknown>): map is ReadonlyMap<string, readonly string[]> {
  for (const value of map.values()) return Array.isArray(value);
  return true;
}

/**
 * A message's headers as they arrived, and the changes policies make to them. Every change is checked
 * against what Envoy will apply (allowed-changes.ts) before it is made: a refused one throws.
 */
export class HeaderMap implements Headers {
  /**
   * By lower-case name. A Map init is used as it is until the first change copies it (copy on write:
   * most messages are never changed), and its value lists are never changed: a change sets a new list;
   * only the constructor pushes, to lists it made itself.
   */
  private values: Map<string, readonly string[]>;
  /** `values` is the init's Map, not ours yet. */
  private shared = false;
  /** Deferred headers not read yet (read()). */
  private deferred: DeferredHeaders | undefined = undefined;
  /** Made on the first change. */
  private changes: Map<string, HeaderChange> | undefined = undefined;

  constructor(init?: HeaderInit) {
    if (init instanceof DeferredHeaders) {
      this.values = NO_HEADERS as Map<string, readonly string[]>;
      this.shared = true;
      this.deferred = init;
      return;
    }
    if (init instanceof Map && isListMap(init)) {
      this.values = init as Map<string, readonly string[]>;
      this.shared = true;
      return;
    }
    this.values = new Map();
    if (!init) return;
    if (Array.isArray(init)) {
      // An array of pairs: indexed, without the iterator protocol.
      const pairs = init as ReadonlyArray<readonly [string, string]>;
      for (let i = 0; i < pairs.length; i++) this.append(pairs[i]![0], pairs[i]![1]);
      return;
    }
    const pairs =
      Symbol.iterator in init
        ? (init as Iterable<readonly [string, string]>)
        : Object.entries(init).flatMap(([n, v]) => (Array.isArray(v) ? v : [v]).map((x) => [n, x] as const));
    for (const [name, value] of pairs) this.append(name, value);
  }

  /** The values to change, this map's own (the init's Map copied on the first change), and the change list. */
  private writable(): { values: Map<string, readonly string[]>; changes: Map<string, HeaderChange> } {
    if (this.shared) {
      const own = new Map<string, readonly string[]>();
      this.read().forEach((list, name) => own.set(name, list));
      this.values = own;
      this.shared = false;
    }
    this.changes ??= new Map();
    return { values: this.values, changes: this.changes };
  }

  /** The values, deferred headers read on the first call. */
  private read(): Map<string, readonly string[]> {
    if (this.deferred !== undefined) {
      this.values = this.deferred.values as Map<string, readonly string[]>;
      this.deferred = undefined;
    }
    return this.values;
  }

  /** A header as received (no change recorded). */
  private append(name: string, value: string): void {
    const key = name.toLowerCase();
    const list = this.values.get(key);
    // Only the constructor appends, to lists it made itself (a Map init is copied, not appended).
    if (list) (list as string[]).push(value);
    else this.values.set(key, [value]);
  }

  get(name: string): string | undefined {
    return this.read().get(name.toLowerCase())?.[0];
  }

  getAll(name: string): string[] {
    return [...(this.read().get(name.toLowerCase()) ?? [])];
  }

  has(name: string): boolean {
    return this.read().has(name.toLowerCase());
  }

  set(name: string, value: string): void {
    const key = name.toLowerCase();
    checkHeaderChange('set', key, value);
    const { values, changes } = this.writable();
    values.set(key, [value]);
    changes.set(key, { kind: 'replaced' });
  }

  add(name: string, value: string): void {
    const key = name.toLowerCase();
    checkHeaderChange('add', key, value);
    const { values, changes } = this.writable();
    const list = values.get(key);
    values.set(key, list ? [...list, value] : [value]);
    const change = changes.get(key);
    if (change?.kind === 'replaced') return;
    if (change?.kind === 'appended') change.values.push(value);
    // Removed then added: the header's whole value is now known, so overwrite it.
    else changes.set(key, change?.kind === 'removed' ? { kind: 'replaced' } : { kind: 'appended', values: [value] });
  }

  remove(name: string): void {
    const key = name.toLowerCase();
    checkHeaderChange('remove', key);
    if (!this.read().has(key) && !this.changes?.has(key)) return;
    const { values, changes } = this.writable();
    values.delete(key);
    changes.set(key, { kind: 'removed' });
  }

  entries(): Array<[string, string[]]> {
    return [...this.read()].map(([k, v]) => [k, [...v]]);
  }

  get changed(): boolean {
    return this.changes !== undefined && this.changes.size > 0;
  }

  /** The changes since construction, as overwrite/append/remove operations. */
  changeList(): HeaderChanges {
    const out: HeaderChanges = { set: [], remove: [] };
    if (this.changes === undefined) return out;
    for (const [name, change] of this.changes) {
      if (change.kind === 'removed') {
        out.remove.push(name);
      } else if (change.kind === 'appended') {
        for (const value of change.values) out.set.push({ name, value, append: true });
      } else {
        (this.values.get(name) ?? []).forEach((value, i) => out.set.push({ name, value, append: i > 0 }));
      }
    }
    return out;
  }
}

/** Deepest nesting of arrays/objects in a JSON text, found by a linear scan that skips strings. */
export function jsonDepth(text: string, limit = Infinity): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c)
        i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x7b || c === 0x5b) {
      if (++depth > max) max = depth;
      if (max > limit) return max;
    } else if (c === 0x7d || c === 0x5d) {
      depth--;
    }
  }
  return max;
}

/** A body's bytes as text (UTF-8, malformed sequences replaced), the same on the event loop and in a worker. */
export function decodeBody(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/**
 * Parses JSON text the one safe way (bounded nesting, no prototype poisoning): a body, or a variable a
 * template's jsonPath() reads. Blank text is undefined; throws BodyParseError.
 */
export function parseJsonText(text: string): unknown {
  if (text.trim() === '') return undefined;
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new BodyParseError(`JSON body nests deeper than ${MAX_JSON_DEPTH} levels`);
  }
  try {
    return secureJson.parse(text, null, { protoAction: 'error', constructorAction: 'error' }) as unknown;
  } catch (err) {
    throw new BodyParseError(`body is not valid JSON: ${(err as Error).message}`);
  }
}

const NOT_PARSED = Symbol('not parsed');

export class MessageBody implements Body {
  readonly available: boolean;
  /** Each form is derived from the last one set, once: bytes <-> text <-> parsed JSON. */
  private raw: Buffer | undefined;
  private textValue: string | undefined;
  private jsonValue: unknown = NOT_PARSED;
  private isChanged = false;
  private readonly headers: HeaderMap;
  private readonly side: MessageSide;

  /** `raw` undefined: Envoy did not send this body (the processing mode skips it). */
  constructor(raw: Buffer | undefined, headers: HeaderMap, side: MessageSide = 'request') {
    this.available = raw !== undefined;
    this.raw = raw ?? Buffer.alloc(0);
    this.headers = headers;
    this.side = side;
  }

  get size(): number {
    return this.bytes().length;
  }

  get changed(): boolean {
    return this.isChanged;
  }

  bytes(): Buffer {
    this.raw ??= Buffer.from(this.text(), 'utf8');
    return this.raw;
  }

  text(): string {
    this.textValue ??= this.raw !== undefined ? this.raw.toString('utf8') : (JSON.stringify(this.jsonValue) ?? '');
    return this.textValue;
  }

  json(): unknown {
    if (this.jsonValue !== NOT_PARSED) return this.jsonValue;
    this.jsonValue = parseJsonText(this.text());
    return this.jsonValue;
  }

  kind(): BodyKind | undefined {
    if (this.size === 0) return undefined;
    const verdict = classifyContentType(this.headers.getAll('content-type'));
    switch (verdict.status) {
      case 'one':
        return verdict.kind;
      case 'none':
        return sniffBodyKind(this.text());
      case 'many':
        throw new DuplicateContentTypeError(this.side, verdict.count);
      case 'malformed':
        throw new MalformedContentTypeError(this.side);
    }
  }

  setText(text: string, contentType?: string): void {
    this.textValue = text;
    this.raw = undefined;
    this.jsonValue = NOT_PARSED;
    this.markChanged(contentType);
  }

  setJson(value: unknown): void {
    this.jsonValue = value;
    this.textValue = undefined; // serialised once, when the body is read or sent
    this.raw = undefined;
    this.markChanged('application/json');
  }

  private markChanged(contentType: string | undefined): void {
    this.isChanged = true;
    // Set unless it is already the only value: a body we wrote never leaves with a second Content-Type.
    const current = this.headers.getAll('content-type');
    if (contentType !== undefined && (current.length !== 1 || current[0] !== contentType)) {
      this.headers.set('content-type', contentType);
    }
  }
}

export interface RequestInit {
  method: string;
  /** The request target as sent (`:path`): path and optional `?query`. */
  path: string;
  scheme?: string;
  authority?: string;
  headers?: HeaderInit;
  /** undefined: Envoy sent no body for this phase. */
  body?: Buffer;
}

/** A request; a policy's change of its verb, path or query is checked before it is made (allowed-changes.ts). */
export class Request implements RequestMessage {
  private methodValue: string;
  private pathValue: string;
  private queryValue: string;
  readonly scheme: string;
  readonly authority: string;
  readonly headers: HeaderMap;
  readonly body: MessageBody;
  /** `:method` and `:path` as received, to tell whether a policy rewrote them. */
  readonly original: { method: string; path: string; query: string };

  constructor(init: RequestInit) {
    const q = init.path.indexOf('?');
    this.methodValue = init.method;
    this.pathValue = q < 0 ? init.path : init.path.slice(0, q);
    this.queryValue = q < 0 ? '' : init.path.slice(q + 1);
    this.scheme = init.scheme ?? 'http';
    this.authority = init.authority ?? '';
    this.headers = new HeaderMap(init.headers);
    this.body = new MessageBody(init.body, this.headers, 'request');
    this.original = { method: this.methodValue, path: this.pathValue, query: this.queryValue };
  }

  get method(): string {
    return this.methodValue;
  }

  set method(value: string) {
    checkMethod(value);
    this.methodValue = value;
  }

  get path(): string {
    return this.pathValue;
  }

  set path(value: string) {
    checkTarget('path', value);
    this.pathValue = value;
  }

  get query(): string {
    return this.queryValue;
  }

  set query(value: string) {
    checkTarget('query', value);
    this.queryValue = value;
  }

  /** The request target (`:path`) as it now stands. */
  get target(): string {
    return this.query === '' ? this.path : `${this.path}?${this.query}`;
  }

  get targetChanged(): boolean {
    return this.path !== this.original.path || this.query !== this.original.query;
  }
}

export interface ResponseInit {
  status: number;
  headers?: HeaderInit;
  body?: Buffer;
}

/** A response; a policy's change of its status is checked before it is made (allowed-changes.ts). */
export class Response implements ResponseMessage {
  private statusValue: number;
  reasonPhrase?: string;
  readonly headers: HeaderMap;
  readonly body: MessageBody;
  readonly originalStatus: number;

  constructor(init: ResponseInit) {
    this.statusValue = init.status;
    this.originalStatus = init.status;
    this.headers = new HeaderMap(init.headers);
    this.body = new MessageBody(init.body, this.headers, 'response');
  }

  get status(): number {
    return this.statusValue;
  }

  set status(value: number) {
    checkStatus(value);
    this.statusValue = value;
  }
}

export function createRequestMessage(init: RequestInit): Request {
  return new Request(init);
}

export function createResponseMessage(init: ResponseInit): Response {
  return new Response(init);
}
