// devproxy as a whole: the xDS resource handlers (CDS, EDS, LDS, RDS, SDS), the listeners they
// bind, and the shared cluster manager, router and ext_proc filter. Each update is translated and
// validated in full before anything changes, so a rejected update (NACK) leaves the old config running.
// As in Envoy, a TLS listener whose SDS secrets have not arrived warms (its port stays closed, or the
// listener it replaces keeps serving) and becomes active when they do; a new secret version applies
// to new handshakes while open connections carry on.
import type * as grpc from '@grpc/grpc-js';
import type { GatehouseError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { TlsMaterial } from '../../lib/tls/material.ts';
import { DevproxyMetrics } from './admin.ts';
import { parseCluster, parseEndpoints } from './config/clusters.ts';
import { parseListener } from './config/listeners.ts';
import type { ListenerConfig, RouteTableConfig } from './config/model.ts';
import { parseRouteConfiguration } from './config/routes.ts';
import { adsSecretNames, type DownstreamTlsConfig } from './config/tls.ts';
import { ExtProcFilter } from './filters/ext-proc-filter.ts';
import { handleRequest, type ConnectionManagerDeps } from './listener/connection-manager.ts';
import { HttpListener, type CodecOptions, type ListenerTls } from './listener/http-listener.ts';
import { ContextSource, materialOfSecret, SecretStore } from './tls/secrets.ts';
import { Router } from './router/router.ts';
import { ClusterManager } from './upstream/cluster-manager.ts';
import { RequestTracer } from './tracing/request-tracer.ts';
import { AdsClient, type XdsResourceType } from './xds/ads-client.ts';
import type { Decoded } from './xds/envoy-protos.ts';

const envoy = 'type.googleapis.com/envoy';
export const xdsTypeUrls = {
  cluster: `${envoy}.config.cluster.v3.Cluster`,
  endpoint: `${envoy}.config.endpoint.v3.ClusterLoadAssignment`,
  listener: `${envoy}.config.listener.v3.Listener`,
  route: `${envoy}.config.route.v3.RouteConfiguration`,
  secret: `${envoy}.extensions.transport_sockets.tls.v3.Secret`,
} as const;

export interface DevProxyOptions {
  log: Logger;
  /** Where a listener binds; default: the Listener's own address and port. `gatehouse dev --port` and tests override it. */
  bindAddress?: (listener: ListenerConfig) => { host: string; port: number };
  /** Refused downstream TLS handshakes and client certificates (also logged). */
  onTlsRefused?: (listener: string, err: GatehouseError) => void;
  /** Where access log lines go; default stdout, as Envoy's StdoutAccessLog. */
  accessLog?: (line: string) => void;
  /** How long finished spans wait for an export batch (default 5 s, Envoy's flush interval); tests shorten it. */
  traceFlushMs?: number;
}

interface RunningListener {
  config: ListenerConfig;
  server: HttpListener;
  host: string;
  port: number;
  tls: ContextSource | undefined;
}

const codecOf = ({ hcm }: ListenerConfig): CodecOptions => ({
  codec: hcm.codec,
  maxRequestHeadersKb: hcm.maxRequestHeadersKb,
  requestHeadersTimeoutMs: hcm.requestHeadersTimeoutMs,
  serverName: hcm.serverName,
  streamIdleTimeoutMs: hcm.streamIdleTimeoutMs,
  idleTimeoutMs: hcm.idleTimeoutMs,
  drainTimeoutMs: hcm.drainTimeoutMs,
});

const clientAuthOf = (tls: DownstreamTlsConfig) =>
  !tls.validation ? 'none' : tls.requireClientCertificate ? 'required' : 'optional';

export class DevProxy {
  readonly secrets = new SecretStore();
  readonly clusters: ClusterManager;
  readonly metrics = new DevproxyMetrics(() => this.listeners.size);
  private readonly routes = new Map<string, RouteTableConfig>();
  private readonly listeners = new Map<string, RunningListener>();
  /** TLS listeners waiting for their SDS secrets, with their material sources. */
  private readonly warming = new Map<string, { config: ListenerConfig; tls: ContextSource }>();
  private readonly deps: ConnectionManagerDeps;
  private readonly options: DevProxyOptions;
  private closed = false;
  private activating: Promise<void> = Promise.resolve();

  constructor(options: DevProxyOptions) {
    this.options = options;
    this.clusters = new ClusterManager({ secrets: this.secrets, log: options.log });
    this.deps = {
      routeTable: (name) => this.routes.get(name),
      router: new Router(this.clusters),
      extProc: new ExtProcFilter(this.clusters),
      ...(options.accessLog ? { accessLog: options.accessLog } : {}),
      tracer: new RequestTracer({
        clusters: this.clusters,
        log: options.log,
        ...(options.traceFlushMs !== undefined ? { scheduledDelayMs: options.traceFlushMs } : {}),
      }),
    };
  }

  /** The xDS resource types devproxy subscribes to, in Envoy's order, for an AdsClient. */
  resourceTypes(): XdsResourceType[] {
    return [
      { typeUrl: xdsTypeUrls.cluster, apply: (r) => this.applyClusters(r) },
      {
        typeUrl: xdsTypeUrls.endpoint,
        names: () => this.clusters.edsServiceNames(),
        apply: (r) => this.applyEndpoints(r),
      },
      { typeUrl: xdsTypeUrls.listener, apply: (r) => this.applyListeners(r) },
      {
        typeUrl: xdsTypeUrls.route,
        names: () => [...new Set([...this.listeners.values()].map((l) => l.config.routeConfigName))],
        apply: (r) => this.applyRoutes(r),
      },
      { typeUrl: xdsTypeUrls.secret, names: () => this.secretNames(), apply: (r) => this.applySecrets(r) },
    ];
  }

  /** SDS names the clusters and the listeners (active and warming) refer to. */
  secretNames(): string[] {
    const listeners = [...this.listeners.values(), ...this.warming.values()].flatMap((l) =>
      adsSecretNames(l.config.tls),
    );
    return [...new Set([...this.clusters.secretNames(), ...listeners])];
  }

  /** Subscribes to an xDS server (over TLS with `credentials`); the returned client reports accepted and rejected updates. */
  subscribe(address: string, nodeId: string, credentials?: grpc.ChannelCredentials): AdsClient {
    const client = new AdsClient({
      address,
      nodeId,
      types: this.resourceTypes(),
      log: this.options.log,
      ...(credentials ? { credentials } : {}),
    });
    client.start();
    return client;
  }

  /** The bound address of each listener, by name. */
  boundListeners(): Map<string, { host: string; port: number }> {
    return new Map([...this.listeners].map(([name, l]) => [name, { host: l.host, port: l.port }]));
  }

  applyClusters(resources: Decoded[]): void {
    this.clusters.setClusters(resources.map(parseCluster));
  }

  applyEndpoints(resources: Decoded[]): void {
    for (const cla of resources) this.clusters.setEndpoints(String(cla.cluster_name), parseEndpoints(cla));
  }

  applyRoutes(resources: Decoded[]): void {
    for (const table of resources.map(parseRouteConfiguration)) this.routes.set(table.name, table);
  }

  /** SDS: every secret is checked (a bad one NACKs the response), then all apply at once. */
  async applySecrets(resources: Decoded[]): Promise<void> {
    const batch = new Map<string, TlsMaterial>(resources.map((s) => [String(s.name), materialOfSecret(s)]));
    this.secrets.setAll(batch);
    for (const [name, m] of batch) {
      this.options.log.info(
        {
          secret: name,
          ...(m.leaf
            ? { subject: m.leaf.subject, issuer: m.leaf.issuer, serial: m.leaf.serialNumber, notAfter: m.leaf.notAfter }
            : { authorities: m.authorities.map((a) => a.subject) }),
        },
        'SDS secret applied',
      );
    }
    await this.activateWarming();
  }

  /**
   * LDS is state of the world: new listeners bind (TLS ones once their secrets are here), changed
   * ones update in place or rebind, then missing ones close. Every TLS context is built (files read
   * and checked) before anything changes.
   */
  async applyListeners(resources: Decoded[]): Promise<void> {
    const configs = resources.map(parseListener);
    const sources = new Map<string, ContextSource>();
    try {
      for (const c of configs)
        if (c.tls) sources.set(c.name, new ContextSource(c.tls, this.secrets, this.options.log, `listener ${c.name}`));
    } catch (err) {
      for (const source of sources.values()) source.close();
      throw err;
    }
    const wanted = new Set(configs.map((c) => c.name));
    for (const w of this.warming.values()) w.tls.close();
    this.warming.clear();
    for (const config of configs) {
      const tls = sources.get(config.name);
      if (tls && !tls.ready()) {
        this.warming.set(config.name, { config, tls });
        this.options.log.info(
          { listener: config.name, secrets: adsSecretNames(config.tls) },
          'listener warming: waiting for its SDS secrets',
        );
        continue;
      }
      await this.activate(config, tls);
    }
    for (const [name, running] of this.listeners) {
      if (wanted.has(name)) continue;
      this.listeners.delete(name);
      running.tls?.close();
      await running.server.close();
      this.options.log.info({ listener: name }, 'listener removed');
    }
  }

  /** Binds a listener whose material is ready, or updates the running one in place. */
  private async activate(config: ListenerConfig, tls: ContextSource | undefined): Promise<void> {
    const running = this.listeners.get(config.name);
    const bind = this.options.bindAddress?.(config) ?? { host: config.host, port: config.port };
    if (
      running &&
      running.host === bind.host &&
      (bind.port === 0 || running.port === bind.port) &&
      !running.config.tls === !config.tls
    ) {
      // Same socket, new filter chain (and TLS settings for new handshakes): in-flight requests keep the old.
      running.config = config;
      running.server.updateCodec(codecOf(config));
      if (config.tls && tls)
        running.server.updateTls({ source: tls, policy: config.tls.policy, clientAuth: clientAuthOf(config.tls) });
      if (running.tls !== tls) running.tls?.close();
      running.tls = tls;
      return;
    }
    const listenerTls: ListenerTls | undefined =
      config.tls && tls
        ? {
            source: tls,
            policy: config.tls.policy,
            clientAuth: clientAuthOf(config.tls),
            alpn: config.tls.alpn,
            log: this.options.log,
            purpose: `listener ${config.name}`,
            ...(this.options.onTlsRefused
              ? { onRefused: (err: GatehouseError) => this.options.onTlsRefused!(config.name, err) }
              : {}),
          }
        : undefined;
    const server = new HttpListener((d) => this.handle(config, d), listenerTls, codecOf(config));
    let port: number;
    try {
      port = await server.listen(bind.host, bind.port);
    } catch (err) {
      tls?.close();
      throw err;
    }
    if (this.closed) {
      tls?.close();
      await server.close(); // closed while binding
      return;
    }
    if (running) {
      running.tls?.close();
      await running.server.close();
    }
    this.listeners.set(config.name, { config, server, host: bind.host, port, tls });
    const mode = !config.tls
      ? 'off'
      : clientAuthOf(config.tls) === 'none'
        ? 'server'
        : `client certificate ${clientAuthOf(config.tls)}`;
    this.options.log.info({ listener: config.name, address: `${bind.host}:${port}`, tls: mode }, 'listener bound');
  }

  /** Warming listeners whose secrets have all arrived become active. */
  private activateWarming(): Promise<void> {
    this.activating = this.activating.then(async () => {
      for (const [name, w] of this.warming) {
        if (!w.tls.ready() || this.closed) continue;
        this.warming.delete(name);
        await this.activate(w.config, w.tls).catch((err: Error) => {
          this.options.log.error({ listener: name, err: err.message }, 'warmed listener could not bind');
        });
      }
    });
    return this.activating;
  }

  /** Whether any listener is bound (Envoy's admin /ready). */
  get ready(): boolean {
    return this.listeners.size > 0;
  }

  private async handle(
    config: ListenerConfig,
    d: Parameters<typeof handleRequest>[2],
  ): ReturnType<typeof handleRequest> {
    const started = performance.now();
    const response = await handleRequest(this.listeners.get(config.name)?.config ?? config, this.deps, d);
    this.metrics.observe(response.status, (performance.now() - started) / 1000);
    return response;
  }

  /** Exports the spans queued now (tests). */
  flushTraces(): Promise<void> {
    return this.deps.tracer?.flush() ?? Promise.resolve();
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const w of this.warming.values()) w.tls.close();
    this.warming.clear();
    await Promise.all(
      [...this.listeners.values()].map((l) => {
        l.tls?.close();
        return l.server.close();
      }),
    );
    this.listeners.clear();
    this.deps.extProc.close();
    await this.deps.tracer?.close();
    this.clusters.close();
  }
}
