// What extproc knows about the request one ext_proc stream serves, built once per stream when the
// request headers arrive: the request id (Envoy's request.id attribute, else x-request-id), the trace id
// (a valid W3C traceparent's), the proxy (namespace/name, only once the snapshot has it), then the app a
// credential policy verified and the fault code the stream answered with. It carries the stream's pino
// child logger, so every log line about the request names it, and it is what Envoy learns back as
// dynamic metadata (namespace `gatehouse`) for its access log. A tracer or an analytics record can read
// the same object later (docs/architecture.md#observability).
import type { Logger } from 'pino';
import type { ProcessingResponse } from './envoy-proto.ts';

/**
 * The dynamic metadata namespace of every reply, which the compiled ext_proc filter receives
 * (operator/src/compile/envoy/access-log.ts gatehouseMetadataNamespace; e2e/dev/access-log.test.ts
 * holds the two together).
 */
export const gatehouseMetadataNamespace = 'gatehouse';

/** A W3C traceparent: version-traceid-parentid-flags, lower-case hex; an all-zero trace id is invalid. */
const traceparentPattern = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}$/;

export function traceIdOf(traceparent: string | undefined): string {
  const m = traceparent === undefined ? null : traceparentPattern.exec(traceparent.trim());
  return m && !/^0+$/.test(m[1]!) ? m[1]! : '';
}

/** Longest request id kept: Envoy's are UUIDs; anything longer came from elsewhere and is cut. */
const maxRequestIdLength = 128;

type DynamicMetadata = NonNullable<ProcessingResponse['dynamicMetadata']>;

export class RequestContext {
  readonly requestId: string;
  readonly traceId: string;
  /** namespace/name from the snapshot; '' until the stream's route resolved to a compiled proxy. */
  proxy = '';
  /** The app a credential policy verified (developer.app.name), when one did. */
  app: string | undefined;
  /** The fault code the stream answered with, when it did. */
  faultCode: string | undefined;
  private readonly base: Logger;
  private logger: Logger | undefined;
  /** The last dynamicMetadata() answer and what it was built from. */
  private metadata: { proxy: string; app: string; faultCode: string; value: DynamicMetadata } | undefined;

  constructor(base: Logger, requestId: string, traceparent: string | undefined) {
    this.base = base;
    this.requestId = requestId.slice(0, maxRequestIdLength);
    this.traceId = traceIdOf(traceparent);
  }

  /**
   * The stream's logger: requestId, traceId and proxy on every line. Built on the first line logged (a
   * request that logs nothing costs no logger), then kept for the stream.
   */
  get log(): Logger {
    this.logger ??= this.base.child({
      requestId: this.requestId,
      ...(this.traceId ? { traceId: this.traceId } : {}),
      ...(this.proxy ? { proxy: this.proxy } : {}),
    });
    return this.logger;
  }

  /** The proxy is known (only a name the snapshot has). */
  resolved(proxy: string): void {
    this.proxy = proxy;
    // A line logged before this (none is, today) built a logger without the proxy: one with it now.
    if (this.logger) this.logger = this.logger.child({ proxy });
  }

  /**
   * ProcessingResponse.dynamic_metadata: {gatehouse: {proxy, app, fault_code}}, only what is known.
   * One frozen object per distinct value, shared by the streams (sharedMetadata): the transport
   * encodes each once (http2-transport.ts).
   */
  dynamicMetadata(): DynamicMetadata {
    const app = this.app ?? '';
    const faultCode = this.faultCode ?? '';
    const last = this.metadata;
    if (last && last.proxy === this.proxy && last.app === app && last.faultCode === faultCode) return last.value;
    const value = sharedMetadata(this.proxy, app, faultCode);
    this.metadata = { proxy: this.proxy, app, faultCode, value };
    return value;
  }
}

/** Distinct metadata values kept (proxies x apps x fault codes); past it the cache starts again. */
const maxSharedMetadata = 4096;
/** By proxy, app and fault code: three lookups of strings the snapshot holds (no key built per call). */
const metadataCache = new Map<string, Map<string, Map<string, DynamicMetadata>>>();
let sharedCount = 0;

function sharedMetadata(proxy: string, app: string, faultCode: string): DynamicMetadata {
  let byApp = metadataCache.get(proxy);
  let byFault = byApp?.get(app);
  const cached = byFault?.get(faultCode);
  if (cached !== undefined) return cached;
  const fields: Record<string, { stringValue: string }> = {};
  if (proxy) fields.proxy = Object.freeze({ stringValue: proxy });
  if (app) fields.app = Object.freeze({ stringValue: app });
  if (faultCode) fields.fault_code = Object.freeze({ stringValue: faultCode });
  const metadata: DynamicMetadata = Object.freeze({
    fields: Object.freeze({
      [gatehouseMetadataNamespace]: Object.freeze({ structValue: Object.freeze({ fields: Object.freeze(fields) }) }),
    }),
  });
  if (sharedCount >= maxSharedMetadata) {
    metadataCache.clear();
    sharedCount = 0;
    byApp = byFault = undefined;
  }
  if (byApp === undefined) metadataCache.set(proxy, (byApp = new Map<string, Map<string, DynamicMetadata>>()));
  if (byFault === undefined) byApp.set(app, (byFault = new Map<string, DynamicMetadata>()));
  byFault.set(faultCode, metadata);
  sharedCount++;
  return metadata;
}
