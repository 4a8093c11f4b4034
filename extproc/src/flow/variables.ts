// Flow variables (docs/architecture.md#the-flow-engine). Names backed by the message (request.header.x, response.status.code, ...)
// are read live from it, so a policy that changes a header is seen by the next condition; everything
// else (what policies set, error.*, fault.name) lives in a plain map.
import { classifyContentType } from '../../../protos/policies/content-type.ts';
import type { RefOr } from '../../../protos/policies/schema.ts';
import { Request, Response } from './message.ts';
import { expandTemplate } from './templates.ts';
import type { Variables } from './types.ts';

export interface VariableSources {
  request: Request;
  /** The response, once there is one (response phase). */
  response(): Response | undefined;
  proxy: { name: string; basePath: string; targetUrl: string };
  environmentName: string;
  messageId: string;
  client: { ip: string; cn: string };
  now(): number;
}

/**
 * A frozen set of variables a policy hands the flow as one read-only layer (Variables.setLayer) instead
 * of one set() per name: built once and shared by every request that sets the same values (VerifyAPIKey's
 * ~40 per app, product and policy; docs/architecture.md#allocations-per-request-issue-20). Its
 * values are never changed: a later set() of one of its names is the exchange's own and wins.
 */
export class VariableLayer {
  readonly values: ReadonlyMap<string, unknown>;
  constructor(entries: Iterable<readonly [string, unknown]>) {
    const values = new Map<string, unknown>();
    for (const [name, value] of entries) {
      // A message is the exchange's own (message(), createNew): never shared between requests.
      if (value instanceof Request || value instanceof Response)
        throw new TypeError(`a variable layer holds no message (${name})`);
      values.set(name, value);
    }
    this.values = values;
    Object.freeze(this);
  }
}

const HEADER_VALUES = '.values';
const HEADER_VALUES_COUNT = '.values.count';

export class FlowVariables implements Variables {
  private readonly own = new Map<string, unknown>();
  /**
   * Layers set with setLayer, the newest first: read after `own` (a name set after a layer was added is
   * in `own`; one set before it was deleted from `own` when the layer came), never written.
   */
  private layers: VariableLayer[] | undefined;
  private readonly src: VariableSources;
  private queryCache: { query: string; params: URLSearchParams } | undefined;
  private formCache: { text: string; params: URLSearchParams } | undefined;
  /** Whether a message variable (AssignMessage createNew) was ever set: until then no `{name}.x` is a message part. */
  private messageVariables = false;

  constructor(sources: VariableSources, initial?: Record<string, unknown>) {
    this.src = sources;
    if (initial) for (const [k, v] of Object.entries(initial)) this.setOwn(k, v);
  }

  private setOwn(name: string, value: unknown): void {
    if (value instanceof Request || value instanceof Response) this.messageVariables = true;
    this.own.set(name, value);
  }

  get(name: string): unknown {
    const builtin = this.builtin(name);
    if (builtin !== undefined) return builtin;
    const own = this.lookup(name);
    if (own !== undefined) return own;
    const named = this.namedMessagePart(name);
    return named ? messagePart(named.message, named.rest) : undefined;
  }

  /**
   * request, response, or a message variable (AssignMessage createNew): a named message is read as
   * `{name}.header.x`, `{name}.content`, `{name}.verb`, ... like the built-in two.
   */
  message(name: string): Request | Response | undefined {
    if (name === 'request') return this.src.request;
    if (name === 'response') return this.src.response();
    const value = this.own.get(name);
    return value instanceof Request || value instanceof Response ? value : undefined;
  }

  /** Whether `name` holds a value that is not a message (AssignMessage's VariableOfNonMsgType). */
  holdsNonMessage(name: string): boolean {
    const value = this.lookup(name);
    return value !== undefined && !(value instanceof Request || value instanceof Response);
  }

  /** What a policy set under `name`: the exchange's own value (even undefined), else the newest layer's. */
  private lookup(name: string): unknown {
    const own = this.own.get(name);
    const layers = this.layers;
    if (own !== undefined || layers === undefined || this.own.has(name)) return own;
    for (let i = 0; i < layers.length; i++) {
      const value = layers[i]!.values.get(name);
      if (value !== undefined || layers[i]!.values.has(name)) return value;
    }
    return undefined;
  }

  /**
   * Sets every variable of `layer`, as set() of each name in turn would, without copying it: the layer
   * is read after the names set in this exchange. Reads, later writes, remove() and namesUnder() see
   * what one set() per name would have left. While a message variable exists (whose parts a name could
   * address), the names are set one by one, as before layers.
   */
  setLayer(layer: VariableLayer): void {
    if (this.messageVariables) {
      for (const [name, value] of layer.values) this.set(name, value);
      return;
    }
    // A name set before the layer is overwritten by it, as set() would: the exchange's own value goes.
    const { own } = this;
    if (own.size > 0 && own.size <= layer.values.size) {
      for (const name of own.keys()) if (layer.values.has(name)) own.delete(name);
    } else if (own.size > 0) for (const name of layer.values.keys()) own.delete(name);
    if (this.layers === undefined) this.layers = [layer];
    else this.layers.unshift(layer);
  }

  /** Copies the layers into `own` (older values under newer), before a remove() changes what they hold. */
  private flattenLayers(): void {
    const layers = this.layers;
    if (layers === undefined) return;
    this.layers = undefined;
    for (const layer of layers)
      for (const [name, value] of layer.values) if (!this.own.has(name)) this.own.set(name, value);
  }

  private namedMessagePart(name: string): { message: Request | Response; rest: string } | undefined {
    const dot = name.indexOf('.');
    if (dot <= 0) return undefined;
    const head = name.slice(0, dot);
    if (head === 'request' || head === 'response') return undefined;
    const message = this.message(head);
    return message ? { message, rest: name.slice(dot + 1) } : undefined;
  }

  getString(name: string): string | undefined {
    return toVariableString(this.get(name));
  }

  set(name: string, value: unknown): void {
    // Most names policies set (verifyapikey.*, developer.*, ...) are neither message parts nor the
    // parts of a named message: straight into the map (docs/architecture.md#the-hot-path).
    if (!this.messageVariables && !name.startsWith('request.') && !name.startsWith('response.')) {
      this.setOwn(name, value);
      return;
    }
    const { request } = this.src;
    const response = this.src.response();
    const text = toVariableString(value) ?? '';
    if (name.startsWith('request.header.')) request.headers.set(name.slice(15), text);
    else if (name.startsWith('response.header.') && response) response.headers.set(name.slice(16), text);
    else if (name === 'request.content') request.body.setText(text);
    else if (name === 'response.content' && response) response.body.setText(text);
    else if (name === 'request.verb') request.method = text;
    else if (name === 'request.path') request.path = text;
    else if (name === 'request.querystring') request.query = text;
    else if (name === 'response.status.code' && response) response.status = Number(text);
    else if (name === 'response.reason.phrase' && response) response.reasonPhrase = text;
    else if (!this.setNamedMessagePart(name, text)) this.setOwn(name, value);
  }

  remove(name: string): void {
    this.flattenLayers();
    for (const key of this.namesUnder(name)) this.own.delete(key);
  }

  namesUnder(prefix: string): string[] {
    const below = `${prefix}.`;
    const names = new Set<string>();
    for (const k of this.own.keys()) if (k === prefix || k.startsWith(below)) names.add(k);
    for (const layer of this.layers ?? [])
      for (const k of layer.values.keys()) if (k === prefix || k.startsWith(below)) names.add(k);
    return [...names].sort();
  }

  private setNamedMessagePart(name: string, text: string): boolean {
    const named = this.namedMessagePart(name);
    if (!named) return false;
    const { message, rest } = named;
    if (rest.startsWith('header.')) message.headers.set(rest.slice(7), text);
    else if (rest === 'content') message.body.setText(text);
    else if (message instanceof Request && rest === 'verb') message.method = text;
    else if (message instanceof Request && rest === 'path') message.path = text;
    else if (message instanceof Request && rest === 'querystring') message.query = text;
    else if (message instanceof Response && rest === 'status.code') message.status = Number(text);
    else if (message instanceof Response && rest === 'reason.phrase') message.reasonPhrase = text;
    else return false;
    return true;
  }

  resolve<T>(value: RefOr<T> | undefined): T | string | undefined {
    if (value !== null && typeof value === 'object' && 'ref' in value && typeof value.ref === 'string') {
      return this.getString(value.ref);
    }
    return value as T | undefined;
  }

  template(text: string): string {
    return expandTemplate(text, this);
  }

  private builtin(name: string): unknown {
    const { request, proxy } = this.src;
    switch (name) {
      case 'request.verb':
        return request.method;
      case 'request.uri':
        return request.target;
      case 'request.path':
        return request.path;
      case 'request.querystring':
        return request.query;
      case 'request.content':
        return request.body.text();
      case 'proxy.basepath':
        return proxy.basePath;
      case 'proxy.pathsuffix':
        return pathSuffix(request.path, proxy.basePath);
      case 'proxy.url':
        return `${request.scheme}://${request.authority}${request.target}`;
      case 'client.ip':
        return this.src.client.ip;
      case 'client.cn':
        return this.src.client.cn || undefined;
      case 'client.scheme':
        return request.scheme;
      case 'target.url':
        return proxy.targetUrl || undefined;
      case 'apiproxy.name':
        return proxy.name;
      case 'environment.name':
        return this.src.environmentName;
      case 'messageid':
        return this.src.messageId;
      case 'system.timestamp':
        return this.src.now();
      case 'system.time':
        return new Date(this.src.now()).toUTCString();
      case 'response.status.code':
        return this.src.response()?.status;
      case 'response.reason.phrase':
        return this.src.response()?.reasonPhrase;
      case 'response.content':
        return this.src.response()?.body.text();
    }
    if (name.startsWith('request.header.')) return headerVariable(request.headers, name.slice(15));
    if (name.startsWith('response.header.')) {
      const response = this.src.response();
      return response ? headerVariable(response.headers, name.slice(16)) : undefined;
    }
    if (name.startsWith('request.queryparam.')) return this.queryParams().get(name.slice(19)) ?? undefined;
    if (name.startsWith('request.formparam.')) return this.formParams()?.get(name.slice(18)) ?? undefined;
    return undefined;
  }

  private queryParams(): URLSearchParams {
    const query = this.src.request.query;
    if (this.queryCache?.query !== query) this.queryCache = { query, params: new URLSearchParams(query) };
    return this.queryCache.params;
  }

  private formParams(): URLSearchParams | undefined {
    const { request } = this.src;
    // A form by the one Content-Type rule (protos/policies/content-type.ts); an ambiguous one is no form.
    const verdict = classifyContentType(request.headers.getAll('content-type'));
    if (verdict.status !== 'one' || verdict.kind !== 'form') return undefined;
    const text = request.body.text();
    if (this.formCache?.text !== text) this.formCache = { text, params: new URLSearchParams(text) };
    return this.formCache.params;
  }
}

/** One part of a named message, by the names the built-in request and response use. */
function messagePart(message: Request | Response, rest: string): unknown {
  if (rest.startsWith('header.')) return headerVariable(message.headers, rest.slice(7));
  if (rest === 'content') return message.body.text();
  if (message instanceof Request) {
    if (rest === 'verb') return message.method;
    if (rest === 'path') return message.path;
    if (rest === 'querystring') return message.query;
    if (rest.startsWith('queryparam.')) return new URLSearchParams(message.query).get(rest.slice(11)) ?? undefined;
  } else {
    if (rest === 'status.code') return message.status;
    if (rest === 'reason.phrase') return message.reasonPhrase;
  }
  if (rest.startsWith('formparam.')) {
    const verdict = classifyContentType(message.headers.getAll('content-type'));
    if (verdict.status !== 'one' || verdict.kind !== 'form') return undefined;
    return new URLSearchParams(message.body.text()).get(rest.slice(10)) ?? undefined;
  }
  return undefined;
}

function headerVariable(headers: Request['headers'], rest: string): unknown {
  if (rest.endsWith(HEADER_VALUES_COUNT)) return headers.getAll(rest.slice(0, -HEADER_VALUES_COUNT.length)).length;
  if (rest.endsWith(HEADER_VALUES)) {
    const values = headers.getAll(rest.slice(0, -HEADER_VALUES.length));
    return values.length > 0 ? values : undefined;
  }
  return headers.get(rest);
}

/** The path after the base path ("" for the base path itself); the whole path when it is outside it. */
export function pathSuffix(path: string, basePath: string): string {
  if (basePath === '' || basePath === '/') return path;
  if (path === basePath) return '';
  return path.startsWith(basePath) && path[basePath.length] === '/' ? path.slice(basePath.length) : path;
}

/**
 * The value of a private.* variable from an encrypted KeyValueMap (docs/policies.md#keyvaluemapoperations):
 * it reads as its text wherever a policy uses it, and as a mask wherever it is serialised (JSON, so pino
 * logs; util.inspect, so console and error messages), so a log line that holds it shows no secret.
 */
export class PrivateValue {
  static readonly MASK = '********';
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
  }
  reveal(): string {
    return this.#value;
  }
  toJSON(): string {
    return PrivateValue.MASK;
  }
  toString(): string {
    return PrivateValue.MASK;
  }
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return PrivateValue.MASK;
  }
}

/** How a variable reads as text: lists join with ",", objects as JSON, null/undefined as unset. */
export function toVariableString(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value;
  if (value instanceof PrivateValue) return value.reveal();
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Buffer.isBuffer(value)) return value.toString('utf8');
  if (Array.isArray(value)) return value.map((v) => toVariableString(v) ?? '').join(',');
  return JSON.stringify(value);
}
