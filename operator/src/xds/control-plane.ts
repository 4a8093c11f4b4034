// The xDS side of the operator as one object: compiled snapshots and the SDS secrets they refer to
// in (publish, publishSecrets), ADS out on the xDS port, node status on the metrics port. The folder
// mode, the kube mode and `gatehouse dev` all drive it the same way. Secrets are kept apart from the
// snapshot: never in its JSON, its version, /debug or logs (only their names are logged).
import type { Server } from 'node:http';
import type * as grpc from '@grpc/grpc-js';
import type { GatehouseError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import type { Snapshot } from '../compile/compile.ts';
import { createOperatorHttpServer, listenHttp } from './http.ts';
import { XdsMetrics } from './metrics.ts';
import { NodeRegistry } from './node-registry.ts';
import { typeUrls } from './protos.ts';
import { SnapshotEncoder, type EncodedResource, type EncodedSnapshot } from './resources.ts';
import { SecretEncoder, type SdsSecret } from './sds.ts';
import { contentKey } from './subscription.ts';
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
  private readonly secretEncoder = new SecretEncoder();
  private readonly ads: AdsServer;
  /** The compiled snapshot's version, and each DataPlane's view of it, encoded, without secrets. */
  private compiled:
    { version: string; views: Map<string, EncodedSnapshot>; secrets: Map<string, string[]> } | undefined;
  /** The SDS names the compiled snapshot refers to. */
  private referenced = new Set<string>();
  /** Secrets being served, by SDS name. */
  private secrets = new Map<string, EncodedResource>();
  private secretsVersion = '';
  private readonly log: Logger;
  private http: Server | undefined;

  /** `tls`: serve ADS over TLS (mutual with a client CA), reloading the files on change. */
  constructor(options: {
    log: Logger;
    processMetrics?: boolean;
    tls?: ServerTls;
    onTlsRefused?: (err: GatehouseError) => void;
    /** Refuse TLS clients whose certificate has no data-plane identity (node-dataplane.ts). */
    requireIdentity?: boolean;
  }) {
    this.log = options.log;
    this.metrics = new XdsMetrics({ processMetrics: options.processMetrics });
    this.registry = new NodeRegistry({ metrics: this.metrics });
    this.ads = new AdsServer({
      cache: this.cache,
      registry: this.registry,
      metrics: this.metrics,
      log: this.log,
      requireIdentity: options.requireIdentity ?? false,
      ...(options.tls ? { tls: options.tls } : {}),
      ...(options.onTlsRefused ? { onTlsRefused: options.onTlsRefused } : {}),
    });
  }

  /**
   * Serves a compiled snapshot, and with `secrets` (sdsSecretsFor) the SDS secrets it refers to, in
   * one push: secrets first, so listeners and clusters that need them do not wait. A snapshot that
   * does not encode against Envoy's protos is not served (the previous one stays) and the error,
   * naming each bad field, is thrown.
   */
  publish(snapshot: Snapshot, secrets?: ReadonlyMap<string, SdsSecret>): void {
    if (this.compiled?.version !== snapshot.version) {
      const views = this.encoder.encode(snapshot);
      this.compiled = {
        version: snapshot.version,
        views,
        secrets: new Map(snapshot.dataPlanes.map((v) => [v.dataPlane, v.names.secrets])),
      };
      this.referenced = new Set(snapshot.secretRefs.map((r) => r.name));
      this.metrics.snapshotServed(snapshot.version);
      this.metrics.published(snapshot.version);
      this.log.info(
        { version: snapshot.version, dataPlanes: Object.fromEntries([...views].map(([dp, v]) => [dp, v.version])) },
        'snapshot published',
      );
    } else if (secrets === undefined) {
      return;
    }
    this.updateSecrets(secrets ?? new Map());
    this.serve();
  }

  /**
   * Serves new SDS secrets (a Secret changed: a renewed certificate). A secret the snapshot refers to
   * but `secrets` lacks (missing, or unusable and left out by sdsSecretsFor) keeps its last served
   * version; secrets the snapshot no longer refers to are dropped.
   */
  publishSecrets(secrets: ReadonlyMap<string, SdsSecret>): void {
    this.updateSecrets(secrets);
    this.serve();
  }

  private updateSecrets(secrets: ReadonlyMap<string, SdsSecret>): void {
    const wanted = new Map<string, SdsSecret>([...secrets].filter(([name]) => this.referenced.has(name)));
    const encoded = this.secretEncoder.encode(wanted);
    const next = new Map<string, EncodedResource>();
    for (const name of [...this.referenced].sort()) {
      const resource = encoded.get(name) ?? this.secrets.get(name);
      if (resource) next.set(name, resource);
    }
    const version = next.size === 0 ? '' : contentKey([...next.values()]).slice(0, 16);
    if (version === this.secretsVersion) return;
    const changed = [...next.keys()].filter((n) => this.secrets.get(n)?.version !== next.get(n)!.version);
    this.secrets = next;
    this.secretsVersion = version;
    this.log.info({ secrets: next.size, changed }, 'SDS secrets published');
  }

  /** Each DataPlane's view with the SDS secrets its own resources name (never another DataPlane's). */
  private serve(): void {
    if (!this.compiled) return;
    const views = new Map<string, EncodedSnapshot>();
    for (const [dataPlane, view] of this.compiled.views) {
      const own = new Map<string, EncodedResource>();
      for (const name of this.compiled.secrets.get(dataPlane) ?? []) {
        const secret = this.secrets.get(name);
        if (secret) own.set(name, secret);
      }
      const resources = new Map(view.resources);
      resources.set(typeUrls.secret, own);
      const secretsVersion = own.size === 0 ? '' : contentKey([...own.values()]).slice(0, 16);
      views.set(dataPlane, { version: view.version, secretsVersion, resources });
    }
    this.cache.set({ version: this.compiled.version, views });
  }

  /** Serves another gRPC service on the xDS port, with its TLS (debug-capture.ts). Before listen(). */
  addService(definition: grpc.ServiceDefinition, implementation: grpc.UntypedServiceImplementation): void {
    this.ads.addService(definition, implementation);
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
