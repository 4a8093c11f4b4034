// The xDS side of the operator as one object: compiled snapshots in (publish), ADS out on the xDS
// port, node status on the metrics port. The folder mode, the kube mode and `gatehouse dev` all
// drive it the same way.
import type { Server } from 'node:http';
import type { Logger } from '../../../lib/log.ts';
import type { Snapshot } from '../compile/compile.ts';
import { createOperatorHttpServer, listenHttp } from './http.ts';
import { XdsMetrics } from './metrics.ts';
import { NodeRegistry } from './node-registry.ts';
import { SnapshotEncoder } from './resources.ts';
import { AdsServer } from './server.ts';
import { SnapshotCache } from './snapshot-cache.ts';

export interface ListenOptions {
  host?: string;
  xdsPort: number;
  /** Omit for no HTTP server (tests). */
  metricsPort?: number;
}

export class XdsControlPlane {
  readonly cache = new SnapshotCache();
  readonly metrics: XdsMetrics;
  readonly registry: NodeRegistry;
  private readonly encoder = new SnapshotEncoder();
  private readonly ads: AdsServer;
  private readonly log: Logger;
  private http: Server | undefined;

  constructor(options: { log: Logger; processMetrics?: boolean }) {
    this.log = options.log;
    this.metrics = new XdsMetrics({ processMetrics: options.processMetrics });
    this.registry = new NodeRegistry({ metrics: this.metrics });
    this.ads = new AdsServer({ cache: this.cache, registry: this.registry, metrics: this.metrics, log: this.log });
  }

  /**
   * Serves a compiled snapshot. A snapshot that does not encode against Envoy's protos is not served
   * (the previous one stays) and the error, naming each bad field, is thrown.
   */
  publish(snapshot: Snapshot): void {
    if (this.cache.current()?.version === snapshot.version) return;
    const encoded = this.encoder.encode(snapshot);
    this.cache.set(encoded);
    this.metrics.snapshotServed(encoded.version);
    this.log.info({ version: encoded.version }, 'snapshot published');
  }

  /** Resolves to the bound ports. */
  async listen(options: ListenOptions): Promise<{ xdsPort: number; metricsPort?: number }> {
    const host = options.host ?? '0.0.0.0';
    const xdsPort = await this.ads.listen(host, options.xdsPort);
    if (options.metricsPort === undefined) return { xdsPort };
    this.http = createOperatorHttpServer({ cache: this.cache, registry: this.registry, metrics: this.metrics });
    return { xdsPort, metricsPort: await listenHttp(this.http, host, options.metricsPort) };
  }

  /** Drains the ADS streams, then closes the HTTP port. */
  async stop(): Promise<void> {
    await this.ads.shutdown();
    const http = this.http;
    if (http) await new Promise<void>((resolve) => http.close(() => resolve()));
  }
}
