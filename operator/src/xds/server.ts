// The ADS gRPC server (envoy.service.discovery.v3.AggregatedDiscoveryService): state of the world and
// delta over one port, every stream serving the same snapshot cache. Shutdown drains: every stream is
// ended with OK so nodes reconnect at once (to another replica) and keep their configuration.
// Plain text, or TLS from files (mutual TLS with a client CA: data-plane pods present the
// certificates the operator issues), reloaded for new connections without dropping open streams.
import * as grpc from '@grpc/grpc-js';
import type { GatehouseError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import { listenGrpcTls, type GrpcTlsListener } from '../../../lib/tls/grpc.ts';
import { DeltaStream } from './delta-stream.ts';
import type { XdsMetrics } from './metrics.ts';
import type { NodeRegistry } from './node-registry.ts';
import { adsService } from './protos.ts';
import type { SnapshotCache } from './snapshot-cache.ts';
import { SotwStream } from './sotw-stream.ts';

export interface AdsServerOptions {
  cache: SnapshotCache;
  registry: NodeRegistry;
  metrics: XdsMetrics;
  log: Logger;
  tls?: ServerTls;
  /** Refuse TLS clients whose certificate has no data-plane identity (node-dataplane.ts). */
  requireIdentity?: boolean;
  /** Refused TLS handshakes and client certificates (also logged). */
  onTlsRefused?: (err: GatehouseError) => void;
}

export class AdsServer {
  private readonly server = new grpc.Server({
    // Notice dead nodes (a pod gone without a FIN) so their records go away.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  private readonly streams = new Set<SotwStream | DeltaStream>();
  private readonly options: AdsServerOptions;
  private tlsListener: GrpcTlsListener | undefined;

  constructor(options: AdsServerOptions) {
    this.options = options;
    const deps = {
      cache: options.cache,
      registry: options.registry,
      log: options.log,
      requireIdentity: options.requireIdentity ?? false,
    };
    this.server.addService(adsService(), {
      StreamAggregatedResources: (call: ConstructorParameters<typeof SotwStream>[0]) =>
        this.track(call, 'sotw', new SotwStream(call, deps)),
      DeltaAggregatedResources: (call: ConstructorParameters<typeof DeltaStream>[0]) =>
        this.track(call, 'delta', new DeltaStream(call, deps)),
    });
  }

  /**
   * Another service on the same port and TLS (DebugCaptureService: extproc reports over the channel
   * it uses for ADS). Before listen().
   */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.server.addService(definition, implementation);
  }

  /** Resolves to the bound port (0 picks a free one). */
  async listen(host: string, port: number): Promise<number> {
    const { tls, log, onTlsRefused } = this.options;
    if (tls) {
      this.tlsListener = await listenGrpcTls(this.server, host, port, {
        source: tls.watcher,
        policy: tls.policy,
        clientAuth: tls.clientAuth,
        log,
        purpose: 'xDS server',
        ...(onTlsRefused ? { onRefused: onTlsRefused } : {}),
      });
      return this.tlsListener.port;
    }
    return new Promise((resolve, reject) => {
      this.server.bindAsync(`${host}:${port}`, grpc.ServerCredentials.createInsecure(), (err, bound) =>
        err ? reject(err) : resolve(bound),
      );
    });
  }

  /** Ends every stream, then stops; whatever has not closed within `graceMs` is cut. */
  async shutdown(graceMs = 5_000): Promise<void> {
    await this.tlsListener?.close();
    for (const stream of this.streams) stream.end();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, graceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private track(
    call: grpc.ServerDuplexStream<unknown, unknown>,
    protocol: 'sotw' | 'delta',
    stream: SotwStream | DeltaStream,
  ): void {
    const { metrics } = this.options;
    this.streams.add(stream);
    metrics.streams.inc({ protocol });
    let done = false;
    const closed = () => {
      if (done) return;
      done = true;
      this.streams.delete(stream);
      metrics.streams.dec({ protocol });
    };
    call.on('close', closed);
    call.on('finish', closed);
    call.on('cancelled', closed);
    call.on('error', closed);
  }
}
