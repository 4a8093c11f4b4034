// The ext_proc gRPC server: Envoy's ExternalProcessor.Process (one ProcessingStream per call) and the
// standard gRPC health service, SERVING once a snapshot is loaded. Plain text, or TLS (mutual with a
// client CA) whose certificate and trust bundle are reloaded without dropping streams (lib/tls).
// Shutdown stops accepting streams and lets the open ones finish.
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import type { Logger } from 'pino';
import type { GatehouseError } from '../../../lib/errors.ts';
import { listenGrpcTls, type GrpcTlsListener } from '../../../lib/tls/grpc.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import type { SnapshotStore } from '../config/snapshot-store.ts';
import type { Stores } from '../stores/types.ts';
import { externalProcessorService } from './envoy-proto.ts';
import { ExtprocMetrics } from './metrics.ts';
import { ProcessingStream, type ProcessCall } from './stream.ts';

export const EXT_PROC_SERVICE = 'envoy.service.ext_proc.v3.ExternalProcessor';
export const DEFAULT_MAX_BODY_BYTES = 1024 * 1024;

export interface ExtprocServerOptions {
  snapshots: SnapshotStore;
  stores: Stores;
  log: Logger;
  metrics?: ExtprocMetrics;
  maxBodyBytes?: number;
  now?: () => number;
  /** Serve over TLS (mTLS when it has a client CA); default plain text. */
  tls?: ServerTls;
  /** Refused TLS handshakes and client certificates (also logged). */
  onTlsRefused?: (err: GatehouseError) => void;
}

export interface ExtprocServer {
  readonly grpc: grpc.Server;
  readonly metrics: ExtprocMetrics;
  /** Binds and starts serving; resolves to the bound port (0 picks one). */
  listen(host: string, port: number): Promise<number>;
  /** Stops accepting streams and waits for open ones to end; forces them after `graceMs`. */
  shutdown(graceMs?: number): Promise<void>;
}

export function createExtprocServer(options: ExtprocServerOptions): ExtprocServer {
  const metrics = options.metrics ?? new ExtprocMetrics();
  const deps = {
    snapshots: options.snapshots,
    stores: options.stores,
    log: options.log,
    metrics,
    maxBodyBytes: options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES,
    now: options.now ?? Date.now,
  };
  const server = new grpc.Server();
  server.addService(externalProcessorService(), {
    process: (call: ProcessCall) => void new ProcessingStream(call, deps),
  });

  const health = new HealthImplementation({ '': 'NOT_SERVING', [EXT_PROC_SERVICE]: 'NOT_SERVING' });
  health.addToServer(server);
  const serving = () => {
    health.setStatus('', 'SERVING');
    health.setStatus(EXT_PROC_SERVICE, 'SERVING');
  };
  if (options.snapshots.current()) serving();
  options.snapshots.onChange((event) => {
    if (event.kind === 'applied') serving();
  });
  let tlsListener: GrpcTlsListener | undefined;

  return {
    grpc: server,
    metrics,
    listen: async (host, port) => {
      const tls = options.tls;
      if (tls) {
        tlsListener = await listenGrpcTls(server, host, port, {
          source: tls.watcher,
          policy: tls.policy,
          clientAuth: tls.clientAuth,
          log: options.log,
          purpose: 'ext_proc server',
          ...(options.onTlsRefused ? { onRefused: options.onTlsRefused } : {}),
        });
        return tlsListener.port;
      }
      return new Promise((resolve, reject) => {
        server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
          err ? reject(err) : resolve(bound),
        );
      });
    },
    shutdown: (graceMs = 20_000) =>
      new Promise((resolve) => {
        health.setStatus('', 'NOT_SERVING');
        health.setStatus(EXT_PROC_SERVICE, 'NOT_SERVING');
        void tlsListener?.close();
        const force = setTimeout(() => server.forceShutdown(), graceMs);
        force.unref();
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      }),
  };
}
