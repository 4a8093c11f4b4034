// devproxy as a whole: the xDS resource handlers (CDS, EDS, LDS, RDS, SDS), the listeners they
// bind, and the shared cluster manager, router and ext_proc filter. Each update is translated and
// validated in full before anything changes, so a rejected update (NACK) leaves the old config running.
import type { Logger } from '../../lib/log.ts';
import { DevproxyMetrics } from './admin.ts';
import { parseCluster, parseEndpoints } from './config/clusters.ts';
import { parseListener } from './config/listeners.ts';
import type { ListenerConfig, RouteTableConfig } from './config/model.ts';
import { parseRouteConfiguration } from './config/routes.ts';
import { ConfigRejectedError } from './errors.ts';
import { ExtProcFilter } from './filters/ext-proc-filter.ts';
import { handleRequest, type ConnectionManagerDeps } from './listener/connection-manager.ts';
import { HttpListener } from './listener/http-listener.ts';
import { Router } from './router/router.ts';
import { ClusterManager } from './upstream/cluster-manager.ts';
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
}

interface RunningListener {
  config: ListenerConfig;
  server: HttpListener;
  host: string;
  port: number;
}

export class DevProxy {
  readonly clusters = new ClusterManager();
  readonly metrics = new DevproxyMetrics(() => this.listeners.size);
  private readonly routes = new Map<string, RouteTableConfig>();
  private readonly listeners = new Map<string, RunningListener>();
  private readonly deps: ConnectionManagerDeps;
  private readonly options: DevProxyOptions;
  private closed = false;

  constructor(options: DevProxyOptions) {
    this.options = options;
    this.deps = { routeTable: (name) => this.routes.get(name), router: new Router(this.clusters), extProc: new ExtProcFilter(this.clusters) };
  }

  /** The xDS resource types devproxy subscribes to, in Envoy's order, for an AdsClient. */
  resourceTypes(): XdsResourceType[] {
    return [
      { typeUrl: xdsTypeUrls.cluster, apply: (r) => this.applyClusters(r) },
      { typeUrl: xdsTypeUrls.endpoint, names: () => this.clusters.edsServiceNames(), apply: (r) => this.applyEndpoints(r) },
      { typeUrl: xdsTypeUrls.listener, apply: (r) => this.applyListeners(r) },
      { typeUrl: xdsTypeUrls.route, names: () => [...new Set([...this.listeners.values()].map((l) => l.config.routeConfigName))], apply: (r) => this.applyRoutes(r) },
      { typeUrl: xdsTypeUrls.secret, names: () => this.clusters.secretNames(), apply: (r) => this.applySecrets(r) },
    ];
  }

  /** Subscribes to an xDS server; the returned client reports accepted and rejected updates. */
  subscribe(address: string, nodeId: string): AdsClient {
    const client = new AdsClient({ address, nodeId, types: this.resourceTypes(), log: this.options.log });
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

  applySecrets(resources: Decoded[]): void {
    for (const s of resources) {
      const ctx = s.validation_context as Decoded | null;
      const ca = (ctx?.trusted_ca as Decoded | null)?.inline_string ?? (ctx?.trusted_ca as Decoded | null)?.inline_bytes;
      if (ca === undefined || ca === null) throw new ConfigRejectedError(`secret ${String(s.name)}: only validation_context.trusted_ca inline secrets are supported`);
      this.clusters.setSecret(String(s.name), Buffer.isBuffer(ca) ? ca.toString('utf8') : String(ca));
    }
  }

  /** LDS is state of the world: new listeners bind, changed addresses rebind, then missing ones close. */
  async applyListeners(resources: Decoded[]): Promise<void> {
    const configs = resources.map(parseListener);
    for (const config of configs) {
      const running = this.listeners.get(config.name);
      const bind = this.options.bindAddress?.(config) ?? { host: config.host, port: config.port };
      if (running && running.host === bind.host && (bind.port === 0 || running.port === bind.port)) {
        running.config = config; // same socket, new filter chain: in-flight requests keep the old one
        continue;
      }
      const server = new HttpListener((d) => this.handle(config, d));
      const port = await server.listen(bind.host, bind.port);
      if (this.closed) {
        await server.close(); // closed while binding
        return;
      }
      if (running) await running.server.close();
      this.listeners.set(config.name, { config, server, host: bind.host, port });
      this.options.log.info({ listener: config.name, address: `${bind.host}:${port}` }, 'listener bound');
    }
    const wanted = new Set(configs.map((c) => c.name));
    for (const [name, running] of this.listeners) {
      if (wanted.has(name)) continue;
      this.listeners.delete(name);
      await running.server.close();
      this.options.log.info({ listener: name }, 'listener removed');
    }
  }

  /** Whether any listener is bound (Envoy's admin /ready). */
  get ready(): boolean {
    return this.listeners.size > 0;
  }

  private async handle(config: ListenerConfig, d: Parameters<typeof handleRequest>[2]): ReturnType<typeof handleRequest> {
    const started = performance.now();
    const response = await handleRequest(this.listeners.get(config.name)?.config ?? config, this.deps, d);
    this.metrics.observe(response.status, (performance.now() - started) / 1000);
    return response;
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.listeners.values()].map((l) => l.server.close()));
    this.listeners.clear();
    this.deps.extProc.close();
    this.clusters.close();
  }
}
