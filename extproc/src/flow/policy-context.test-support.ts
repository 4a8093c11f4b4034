// Builds a real PolicyContext for policy unit tests: the real message and variable classes, memory
// stores, a RuntimeIndex from a (partial) snapshot fixture and a clock the test controls.
import { pino, type Logger } from 'pino';
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot, type RuntimeSnapshotInput } from '../config/decode.ts';
import { createHmac } from 'node:crypto';
import { SnapshotRuntimeIndex, storeKeyFor } from '../config/runtime-index.ts';
import { createMemoryStores } from '../stores/memory.ts';
import type { Stores } from '../stores/types.ts';
import { Exchange } from './exchange.ts';
import { createRequestMessage, createResponseMessage } from './message.ts';
import type { Egress, ExternalCallouts, MessageLogs, Phase, PolicyContext, RemoteKeySets } from './types.ts';

export type TestBody = string | Buffer | Record<string, unknown> | unknown[];

export interface PolicyContextOptions {
  method?: string;
  /** Path, optionally with "?query". */
  path?: string;
  /** Query string without "?" (appended to `path`'s, if any). */
  query?: string;
  headers?: Record<string, string | string[]>;
  /** Objects and arrays are sent as JSON. Omitted: no body was sent for the request. */
  body?: TestBody;
  contentType?: string;
  clientIp?: string;
  clientCn?: string;
  phase?: Phase;
  /** Present: the context is in the response phase unless `phase` says otherwise. */
  response?: { status?: number; headers?: Record<string, string | string[]>; body?: TestBody };
  /** Products, apps, credentialHashKey, ... (proto3 JSON shape). */
  snapshot?: RuntimeSnapshotInput;
  /** The proxy the request is for; defaults to default/test at base path "/". */
  proxy?: Proxy;
  /** Initial flow variables. */
  variables?: Record<string, unknown>;
  /** Milliseconds since the epoch, or a clock function. Default 2026-01-01T00:00:00Z. */
  now?: number | (() => number);
  stores?: Stores;
  environmentName?: string;
  /** JWKS by URL (VerifyJWT/VerifyJWS tests); default none. */
  keys?: RemoteKeySets;
  /** ExternalCallout servers (ExternalCallout tests); default none. */
  callouts?: ExternalCallouts;
  /** Outbound HTTP (ServiceCallout tests); default none. */
  egress?: Egress;
  /** MessageLogging's senders (MessageLogging tests); default none (messages dropped). */
  messageLogs?: MessageLogs;
  /** The logger policies log to; default silent. */
  log?: Logger;
}

export interface TestClock {
  // Function-valued properties, not methods: `clock.now` is passed around unbound.
  now: () => number;
  advance: (ms: number) => void;
  set: (ms: number) => void;
}

export interface TestPolicyContext extends PolicyContext {
  readonly exchange: Exchange;
  readonly clock: TestClock;
}

const DEFAULT_NOW = Date.UTC(2026, 0, 1);
const DEFAULT_PROXY: Proxy = {
  namespace: 'default',
  name: 'test',
  route: 'default/test',
  basePath: '/',
  targetUrl: 'http://upstream.test',
};

/**
 * How a request-derived store key part is named in the stores (RuntimeIndex.hashStoreKey) under a
 * credential hash key (hex; test snapshots carry none by default).
 */
export function hashedKeyPart(value: string, credentialHashKeyHex = ''): string {
  return createHmac('sha256', storeKeyFor(credentialHashKeyHex)).update(value, 'utf8').digest('base64url');
}

export function makeClock(start: number | (() => number) = DEFAULT_NOW): TestClock {
  if (typeof start === 'function') return { now: start, advance: () => undefined, set: () => undefined };
  let t = start;
  return {
    now: () => t,
    advance: (ms) => {
      t += ms;
    },
    set: (ms) => {
      t = ms;
    },
  };
}

function bodyOf(body: TestBody | undefined): { buffer: Buffer | undefined; json: boolean } {
  if (body === undefined) return { buffer: undefined, json: false };
  if (typeof body === 'string') return { buffer: Buffer.from(body), json: false };
  if (Buffer.isBuffer(body)) return { buffer: body, json: false };
  return { buffer: Buffer.from(JSON.stringify(body)), json: true };
}

function withContentType(
  headers: Record<string, string | string[]> | undefined,
  type: string | undefined,
): Record<string, string | string[]> {
  const out = { ...headers };
  if (type !== undefined && !Object.keys(out).some((k) => k.toLowerCase() === 'content-type'))
    out['content-type'] = type;
  return out;
}

export function makePolicyContext(opts: PolicyContextOptions = {}): TestPolicyContext {
  const clock = makeClock(opts.now);
  const proxyInput = { ...DEFAULT_PROXY, ...opts.proxy };
  const snapshot = decodeRuntimeSnapshot({ version: 'test', ...opts.snapshot, proxies: [proxyInput] });
  const proxy = snapshot.proxies[0]!;
  const reqBody = bodyOf(opts.body);
  const path =
    opts.query === undefined
      ? (opts.path ?? '/')
      : `${opts.path ?? '/'}${(opts.path ?? '').includes('?') ? '&' : '?'}${opts.query}`;
  const request = createRequestMessage({
    method: opts.method ?? 'GET',
    path,
    scheme: 'http',
    authority: 'gateway.test',
    headers: withContentType(opts.headers, opts.contentType ?? (reqBody.json ? 'application/json' : undefined)),
    body: reqBody.buffer,
  });
  const exchange = new Exchange({
    request,
    proxy,
    runtime: new SnapshotRuntimeIndex(snapshot),
    stores: opts.stores ?? createMemoryStores(clock.now),
    ...(opts.keys ? { keys: opts.keys } : {}),
    ...(opts.callouts ? { callouts: opts.callouts } : {}),
    ...(opts.egress ? { egress: opts.egress } : {}),
    ...(opts.messageLogs ? { messageLogs: opts.messageLogs } : {}),
    log: opts.log ?? pino({ level: 'silent' }),
    now: clock.now,
    environmentName: opts.environmentName ?? 'test',
    messageId: 'test-message-id',
    client: { ip: opts.clientIp ?? '127.0.0.1', cn: opts.clientCn ?? '' },
    variables: opts.variables,
  });
  if (opts.response) {
    const resBody = bodyOf(opts.response.body);
    exchange.response = createResponseMessage({
      status: opts.response.status ?? 200,
      headers: withContentType(opts.response.headers, resBody.json ? 'application/json' : undefined),
      body: resBody.buffer,
    });
  }
  const phase = opts.phase ?? (opts.response ? 'response' : 'request');
  const context = exchange.context(phase);
  // `log` is a getter of the context's class: a spread would leave it out.
  return { ...context, log: context.log, exchange, clock };
}
