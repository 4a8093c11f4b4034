// The ext_proc gRPC server: Envoy's ExternalProcessor.Process (one ProcessingStream per call) and the
// standard gRPC health service, SERVING once a snapshot is loaded. Plain text, or TLS (mutual with a
// client CA) whose certificate and trust bundle are reloaded without dropping streams (lib/tls).
// Shutdown stops accepting streams and lets the open ones finish. Bounded (limits.ts): streams per
// connection and per process, gRPC message size, body bytes held across streams; heavy policy work on
// large bodies runs in a worker pool (workers/pool.ts) so one request cannot stall the others.
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';
import type { GatehouseError } from '../../../lib/errors.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import type { SnapshotStore } from '../config/snapshot-store.ts';
import { GrpcCallouts } from '../callouts/external-callout-client.ts';
import { MessageLogSenders } from '../egress/message-log.ts';
import type { Egress, ExternalCallouts, MessageLogs, RemoteKeySets } from '../flow/types.ts';
import type { Stores } from '../stores/types.ts';
import { WorkerPool } from '../workers/pool.ts';
import { BodyBudget, DEFAULT_STREAM_LIMITS, StreamLimitError, type StreamLimits } from './limits.ts';
import { ExtprocMetrics } from './metrics.ts';
import type { DebugCapture } from '../debug/capture.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import { ProcessingStream, type StreamDeps } from './stream.ts';
import type { StreamTracer } from '../tracing/stream-tracer.ts';
import { createGrpcTransport } from './grpc-transport.ts';
import { createHttp2Transport } from './http2-transport.ts';
import { DEFAULT_TRANSPORT, type ExtprocTransport, type TransportName, type TransportOptions } from './transport.ts';

export { EXT_PROC_SERVICE } from './transport.ts';
/** grpc-js's default server keepalive is off; both transports ping a connection idle this long (ms). */
export const DEFAULT_KEEPALIVE_MS = 5 * 60 * 1000;
/** The stream buffer limit the compiler gives Envoy (operator/src/compile/envoy/listeners.ts streamBufferLimitBytes). */
export const envoyStreamBufferLimitBytes = 2 * 1024 * 1024;

export const DEFAULT_MAX_BODY_BYTES = DEFAULT_STREAM_LIMITS.maxBodyBytes;

/** Where policy work on large bodies runs (workers/offload.ts, workers/pool.ts). */
export interface WorkOptions {
  /** Worker threads; 0 runs every task inline on the event loop. */
  workers: number;
  /** Tasks that may wait for a busy worker; more get 503 gatehouse.WorkQueueFull. */
  queue: number;
  /** A phase's pool work (queueing included) past this gets 503 gatehouse.WorkBudgetExceeded. */
  budgetMs: number;
  /** Tasks from this weight go to the pool (body bytes; x8 for JSONPath, x16 for XSD, x64 for XPath work; XSLT always). */
  minBytes: number;
  /** Heap limit per worker, MiB. */
  maxHeapMb: number;
}

export const DEFAULT_WORK: WorkOptions = {
  workers: Math.max(1, availableParallelism() - 1),
  queue: 64,
  budgetMs: 1000,
  minBytes: 32 * 1024,
  maxHeapMb: 256,
};

export interface ExtprocServerOptions {
  snapshots: SnapshotStore;
  stores: Stores;
  /** JWKS and discovery documents by URL for VerifyJWT/VerifyJWS (keys/remote-key-sets.ts). */
  keys?: RemoteKeySets;
  /** ExternalCallout servers; default a GrpcCallouts of this server's, closed at shutdown. */
  callouts?: ExternalCallouts;
  /** Outbound HTTP for ServiceCallout (egress/client.ts); absent: callouts fail. */
  egress?: Egress;
  /**
   * MessageLogging's senders; default a MessageLogSenders of this server's (HTTP targets through
   * egress, drops counted in metrics), flushed for at most 2 s at shutdown.
   */
  messageLogs?: MessageLogs;
  log: Logger;
  metrics?: ExtprocMetrics;
  /** Shorthand for limits.maxBodyBytes. */
  maxBodyBytes?: number;
  limits?: Partial<StreamLimits>;
  work?: Partial<WorkOptions>;
  now?: () => number;
  /** Serve over TLS (mTLS when it has a client CA); default plain text. */
  tls?: ServerTls;
  /** Refused TLS handshakes and client certificates (also logged). */
  onTlsRefused?: (err: GatehouseError) => void;
  /** Spans per stream and policy step (--otlp-endpoint); absent: no tracing, no span objects. */
  tracer?: StreamTracer;
  /** Debug sessions' captures (debug/capture.ts); absent: none are taken. */
  debug?: DebugCapture;
  /** Analytics records (docs/operations.md#analytics), configured from the snapshots; absent: none. */
  analytics?: AnalyticsRecorder;
  /** What carries the gRPC streams (--transport); default DEFAULT_TRANSPORT. */
  transport?: TransportName;
  /** HTTP/2 PING on a connection idle this long, closed without an answer in 20 s; 0: never. Default DEFAULT_KEEPALIVE_MS. */
  keepaliveMs?: number;
  /** GOAWAY on a connection this old, plus or minus 10% (--max-connection-age); 0 or absent: never. */
  maxConnectionAgeMs?: number;
  /** Destroy it this long after that GOAWAY (--max-connection-age-grace); 0 or absent: never. */
  maxConnectionAgeGraceMs?: number;
}

export interface ExtprocServer {
  /** grpc-js or http2 (--transport). */
  readonly transport: TransportName;
  readonly metrics: ExtprocMetrics;
  readonly limits: StreamLimits;
  /** Undefined with `workers: 0`. */
  readonly pool: WorkerPool | undefined;
  /** Streams open now. */
  activeStreams(): number;
  /** Body bytes held by open streams. */
  bufferedBodyBytes(): number;
  /** Binds and starts serving; resolves to the bound port (0 picks one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting streams and waits for open ones to end; forces them after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

export function createExtprocServer(options: ExtprocServerOptions): ExtprocServer {
  const metrics = options.metrics ?? new ExtprocMetrics();
  const limits: StreamLimits = {
    ...DEFAULT_STREAM_LIMITS,
    ...options.limits,
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
  };
  const work: WorkOptions = { ...DEFAULT_WORK, ...options.work };
  const pool =
    work.workers > 0
      ? new WorkerPool({
          size: work.workers,
          queueLimit: work.queue,
          maxHeapMb: work.maxHeapMb,
          log: options.log,
          onTask: (task, result) => metrics.offloadTasks.inc({ task, result }),
        })
      : undefined;
  const ownCallouts = options.callouts ? undefined : new GrpcCallouts({ log: options.log });
  const callouts = options.callouts ?? ownCallouts!;
  const ownMessageLogs = options.messageLogs
    ? undefined
    : new MessageLogSenders({
        log: options.log.child({ component: 'messagelogging' }),
        ...(options.egress ? { egress: options.egress } : {}),
        onDrop: (reason) => metrics.messageLogDropped.inc({ reason }),
        onSent: () => metrics.messageLogSent.inc(),
      });
  const deps: StreamDeps = {
    snapshots: options.snapshots,
    stores: options.stores,
    ...(options.keys ? { keys: options.keys } : {}),
    callouts,
    ...(options.egress ? { egress: options.egress } : {}),
    messageLogs: options.messageLogs ?? ownMessageLogs!,
    log: options.log,
    metrics,
    limits,
    bodyBudget: new BodyBudget(limits.maxBufferedBodyBytes),
    pool,
    offload: { minBytes: work.minBytes, budgetMs: work.budgetMs },
    streams: { active: 0 },
    now: options.now ?? Date.now,
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
    ...(options.analytics ? { analytics: options.analytics } : {}),
  };
  metrics.setProbes({
    queuedTasks: () => pool?.queued ?? 0,
    busyWorkers: () => pool?.busy ?? 0,
    bufferedBodyBytes: () => deps.bodyBudget.inUse,
  });
  let lastRefusalLog = 0;
  const transportOptions: TransportOptions = {
    onProcess: (call) => {
      if (deps.streams.active < limits.maxStreams) {
        void new ProcessingStream(call, deps);
        return;
      }
      const refused = new StreamLimitError(limits.maxStreams);
      metrics.streams.inc({ outcome: 'refused' });
      if (performance.now() - lastRefusalLog > 10_000) {
        lastRefusalLog = performance.now();
        options.log.warn({ err: refused.message, code: refused.code }, 'ext_proc stream refused: too many streams');
      }
      call.sendStatus(refused.grpcCode, refused.message);
    },
    maxConnectionStreams: limits.maxConnectionStreams,
    // One message carries at most a body chunk (BUFFERED: the whole body) or a header map: anything
    // larger is refused before it is buffered whole (RESOURCE_EXHAUSTED). Envoy buffers a body up to
    // the compiled stream buffer limit (2 MiB, docs/architecture-devproxy.md) and sends it whole: such
    // a message must arrive so that it gets the 413/502 fault, not a stream error that FailOpen would
    // let through unchecked.
    maxReceiveMessageBytes:
      Math.max(limits.maxBodyBytes, envoyStreamBufferLimitBytes) + limits.maxHeadersBytes + 64 * 1024,
    keepaliveTimeMs: options.keepaliveMs ?? DEFAULT_KEEPALIVE_MS,
    keepaliveTimeoutMs: 20_000,
    maxConnectionAgeMs: options.maxConnectionAgeMs ?? 0,
    maxConnectionAgeGraceMs: options.maxConnectionAgeGraceMs ?? 0,
    log: options.log,
    ...(options.tls ? { tls: options.tls } : {}),
    ...(options.onTlsRefused ? { onTlsRefused: options.onTlsRefused } : {}),
  };
  const transport: ExtprocTransport =
    (options.transport ?? DEFAULT_TRANSPORT) === 'http2'
      ? createHttp2Transport(transportOptions)
      : createGrpcTransport(transportOptions);
  if (options.snapshots.current()) transport.setServing(true);
  options.snapshots.onChange((event) => {
    if (event.kind === 'applied') transport.setServing(true);
  });

  return {
    transport: transport.name,
    metrics,
    limits,
    pool,
    activeStreams: () => deps.streams.active,
    bufferedBodyBytes: () => deps.bodyBudget.inUse,
    listen: (host, port) => transport.listen(host, port),
    shutdown: async (graceMs = 20_000) => {
      transport.setServing(false);
      await transport.shutdown(graceMs);
      ownCallouts?.close();
      // Streams are done: what PostClientFlow queued gets a short flush, then is dropped (counted).
      await Promise.all([ownMessageLogs?.close(2_000), pool?.close()]);
    },
  };
}
