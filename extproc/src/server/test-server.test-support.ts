// A real ext_proc server on 127.0.0.1:0 for tests and benchmarks, with snapshots built from fixtures
// (proto3 JSON shape) and an injectable policy catalog.
import { pino, type Logger } from 'pino';
import type { Egress, ExternalCallouts, RemoteKeySets } from '../flow/types.ts';
import type { RuntimeSnapshot } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { defaultCatalog, loadSnapshot, type LoadedSnapshot, type PolicyCatalog } from '../config/snapshot.ts';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { createMemoryStores } from '../stores/memory.ts';
import type { DebugCapture } from '../debug/capture.ts';
import type { StreamLimits } from './limits.ts';
import type { StreamTracer } from '../tracing/stream-tracer.ts';
import { followSnapshots, type AnalyticsRecorder } from '../analytics/recorder.ts';
import type { TransportName } from './transport.ts';
import { createExtprocServer, type ExtprocServer, type WorkOptions } from './server.ts';

export interface TestServerOptions {
  snapshot?: RuntimeSnapshot;
  catalog?: PolicyCatalog;
  maxBodyBytes?: number;
  limits?: Partial<StreamLimits>;
  /** Default: no worker pool (every task inline), unless `workers` is given. */
  work?: Partial<WorkOptions>;
  /** JWKS by URL for VerifyJWT/VerifyJWS (keys/remote-key-sets.ts); default none. */
  keys?: RemoteKeySets;
  /** ExternalCallout servers; default the server's own grpc-js pool. */
  callouts?: ExternalCallouts;
  /** Outbound HTTP for ServiceCallout (egress/client.ts); default none. */
  egress?: Egress;
  /** Default: silent. */
  log?: Logger;
  /** Spans per stream and step (tracing tests); default none. */
  tracer?: StreamTracer;
  /** Debug sessions' captures (debug tests); default none. */
  debug?: DebugCapture;
  /** Analytics records, configured from the snapshots applied (analytics tests); default none. */
  analytics?: AnalyticsRecorder;
  /** What carries the streams; default the server's default (transport.ts DEFAULT_TRANSPORT). */
  transport?: TransportName;
  /** HTTP/2 PING on idle connections (ms); default the server's. */
  keepaliveMs?: number;
  /** GOAWAY at this connection age (server.ts maxConnectionAgeMs). */
  maxConnectionAgeMs?: number;
  maxConnectionAgeGraceMs?: number;
}

export interface TestServer {
  address: string;
  server: ExtprocServer;
  store: SnapshotStore;
  /** Builds a fixture with this server's catalog and makes it current. */
  apply(snapshot: RuntimeSnapshot): LoadedSnapshot;
  close(): Promise<void>;
}

export function buildSnapshot(snapshot: RuntimeSnapshot, catalog: PolicyCatalog = defaultCatalog): LoadedSnapshot {
  return loadSnapshot(decodeRuntimeSnapshot(snapshot), catalog);
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  const catalog = options.catalog ?? defaultCatalog;
  const store = new SnapshotStore();
  if (options.snapshot) store.apply(buildSnapshot(options.snapshot, catalog));
  const stores = createMemoryStores();
  const server = createExtprocServer({
    snapshots: store,
    stores,
    log: options.log ?? pino({ level: 'silent' }),
    ...(options.maxBodyBytes !== undefined ? { maxBodyBytes: options.maxBodyBytes } : {}),
    ...(options.limits ? { limits: options.limits } : {}),
    work: { workers: 0, ...options.work },
    ...(options.keys ? { keys: options.keys } : {}),
    ...(options.callouts ? { callouts: options.callouts } : {}),
    ...(options.egress ? { egress: options.egress } : {}),
    ...(options.tracer ? { tracer: options.tracer } : {}),
    ...(options.debug ? { debug: options.debug } : {}),
    ...(options.analytics ? { analytics: options.analytics } : {}),
    ...(options.transport ? { transport: options.transport } : {}),
    ...(options.keepaliveMs !== undefined ? { keepaliveMs: options.keepaliveMs } : {}),
    ...(options.maxConnectionAgeMs !== undefined ? { maxConnectionAgeMs: options.maxConnectionAgeMs } : {}),
    ...(options.maxConnectionAgeGraceMs !== undefined
      ? { maxConnectionAgeGraceMs: options.maxConnectionAgeGraceMs }
      : {}),
  });
  if (options.analytics) followSnapshots(store, options.analytics);
  const port = await server.listen('127.0.0.1', 0);
  return {
    address: `127.0.0.1:${port}`,
    server,
    store,
    apply: (snapshot) => {
      const loaded = buildSnapshot(snapshot, catalog);
      store.apply(loaded);
      return loaded;
    },
    close: async () => {
      await server.shutdown(1000);
      await stores.close();
    },
  };
}
