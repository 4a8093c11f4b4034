// The cluster manager: the clusters from CDS, their hosts (the cluster's own load assignment,
// DNS-resolved for STRICT_DNS, or the ClusterLoadAssignment from EDS), a load balancer and an HTTP(S)
// connection pool per cluster, and their upstream TLS: the material (SDS secrets, files) of each
// cluster's context, verified by us so that a refused server is named by its certificate's issuer.
// As in Envoy, renewed material applies to the connections opened from then on; open ones carry on.
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent, type ClientRequestArgs } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP, type Socket } from 'node:net';
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log.ts';
import { secureConnect, type ClientTlsOptions } from '../../../lib/tls/client.ts';
import { grpcChannelCredentials } from '../../../lib/tls/grpc.ts';
import type { ClusterConfig, Endpoint, UpstreamTlsConfig } from '../config/model.ts';
import { adsSecretNames } from '../config/tls.ts';
import { ContextSource, type SecretStore } from '../tls/secrets.ts';
import { LoadBalancer, type Host } from './load-balancer.ts';

/** How often STRICT_DNS hosts are re-resolved (Envoy's default dns_refresh_rate). */
const dnsRefreshMs = 5000;

export interface PickedHost {
  cluster: ClusterConfig;
  host: string;
  port: number;
  agent: HttpAgent;
  /** gRPC clusters (ext_proc): the channel credentials of the cluster's TLS, undefined for plain text. */
  grpcCredentials?: grpc.ChannelCredentials;
  /** Changes whenever the cluster's connection settings do (a gRPC client per key). */
  poolKey: string;
  /** Call when the request to this host ends (LEAST_REQUEST accounting). */
  release: () => void;
}

/** Envoy's dns_lookup_family over the resolved addresses (AUTO prefers IPv6, V4_PREFERRED IPv4). */
function pickFamily(
  addresses: Array<{ address: string; family: number }>,
  family: ClusterConfig['dnsFamily'],
): Array<{ address: string }> {
  const v4 = addresses.filter((a) => a.family === 4);
  const v6 = addresses.filter((a) => a.family === 6);
  switch (family) {
    case 'V4_ONLY':
      return v4;
    case 'V6_ONLY':
      return v6;
    case 'V4_PREFERRED':
      return v4.length > 0 ? v4 : v6;
    case 'AUTO':
      return v6.length > 0 ? v6 : v4;
    case 'ALL':
      return addresses;
  }
}

export type PickFailure = { reason: 'no_cluster' | 'no_healthy_upstream' | 'tls_secret_missing'; message: string };

interface ClusterEntry {
  config: ClusterConfig;
  balancer: LoadBalancer;
  hosts: Map<string, Host>;
  agent: HttpAgent | undefined;
  resolvedAt: number;
  tls: ContextSource | undefined;
  grpcCredentials: grpc.ChannelCredentials | undefined;
  /** Identifies this cluster version: a changed cluster gets new pools and gRPC clients. */
  generation: number;
}

let generations = 0;

export interface ClusterManagerOptions {
  secrets: SecretStore;
  log: Logger;
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterEntry>();
  private readonly edsEndpoints = new Map<string, Endpoint[]>();
  private readonly options: ClusterManagerOptions;
  private readonly refusalsLogged = new Map<string, number>();

  constructor(options: ClusterManagerOptions) {
    this.options = options;
  }

  /**
   * Replaces the set of clusters (CDS is state of the world); unchanged clusters keep their pools and
   * counters. The TLS material of new clusters is read and checked first: a cluster whose files do not
   * load rejects the whole update (NACK) and nothing changes.
   */
  setClusters(configs: readonly ClusterConfig[]): void {
    const fresh = new Map<string, ContextSource | undefined>();
    try {
      for (const c of configs) {
        const same = this.clusters.get(c.name);
        if (same && JSON.stringify(same.config) === JSON.stringify(c)) continue;
        fresh.set(
          c.name,
          c.tls ? new ContextSource(c.tls, this.options.secrets, this.options.log, `cluster ${c.name}`) : undefined,
        );
      }
    } catch (err) {
      for (const source of fresh.values()) source?.close();
      throw err;
    }
    const next = new Map(configs.map((c) => [c.name, c]));
    for (const [name, entry] of this.clusters) {
      if (JSON.stringify(next.get(name)) === JSON.stringify(entry.config)) continue;
      this.retire(entry);
      entry.tls?.close();
      this.clusters.delete(name);
    }
    for (const c of configs) {
      if (this.clusters.has(c.name)) continue;
      const tls = fresh.get(c.name);
      // Connections read the context's material when they are made: nothing to do when it changes.
      this.clusters.set(c.name, {
        config: c,
        balancer: new LoadBalancer(c.lbPolicy),
        hosts: new Map(),
        agent: undefined,
        resolvedAt: 0,
        tls,
        grpcCredentials: undefined,
        generation: ++generations,
      });
    }
  }

  /** Cluster names whose endpoints come over EDS, keyed by their service name. */
  edsServiceNames(): string[] {
    return [...this.clusters.values()].filter((e) => e.config.discovery === 'EDS').map((e) => e.config.edsServiceName);
  }

  /** SDS secret names (over ADS) the clusters' TLS contexts refer to. */
  secretNames(): string[] {
    return [...new Set([...this.clusters.values()].flatMap((e) => adsSecretNames(e.config.tls)))];
  }

  setEndpoints(serviceName: string, endpoints: Endpoint[]): void {
    this.edsEndpoints.set(serviceName, endpoints);
  }

  async pick(clusterName: string): Promise<PickedHost | PickFailure> {
    const entry = this.clusters.get(clusterName);
    if (!entry) return { reason: 'no_cluster', message: `no cluster ${clusterName}` };
    const hosts = await this.hostsOf(entry);
    const host = entry.balancer.pick(hosts);
    if (!host) return { reason: 'no_healthy_upstream', message: 'no healthy upstream' };
    const agent = this.agentOf(entry);
    if (!agent)
      return {
        reason: 'tls_secret_missing',
        message: `upstream TLS secrets ${adsSecretNames(entry.config.tls).join(', ')} not received`,
      };
    host.active++;
    let released = false;
    const grpcCredentials = this.grpcCredentialsOf(entry);
    return {
      cluster: entry.config,
      host: host.host,
      port: host.port,
      agent,
      poolKey: `${entry.config.name}#${entry.generation}`,
      ...(grpcCredentials ? { grpcCredentials } : {}),
      release: () => {
        if (!released) host.active--;
        released = true;
      },
    };
  }

  close(): void {
    for (const entry of this.clusters.values()) {
      this.retire(entry);
      entry.tls?.close();
    }
    this.clusters.clear();
  }

  private async hostsOf(entry: ClusterEntry): Promise<Host[]> {
    const c = entry.config;
    const endpoints = c.discovery === 'EDS' ? (this.edsEndpoints.get(c.edsServiceName) ?? []) : c.endpoints;
    let resolved = endpoints.filter((e) => e.healthy);
    if (c.discovery === 'STRICT_DNS') {
      if (Date.now() - entry.resolvedAt < dnsRefreshMs) return [...entry.hosts.values()];
      resolved = (
        await Promise.all(
          resolved.map(async (e) => {
            if (isIP(e.host)) return [e];
            const addresses = await lookup(e.host, { all: true }).catch(() => []);
            return pickFamily(addresses, c.dnsFamily).map((a) => ({ ...e, host: a.address }));
          }),
        )
      ).flat();
      entry.resolvedAt = Date.now();
    }
    // Keep each surviving host's object so in-flight counts carry over.
    const next = new Map<string, Host>();
    for (const e of resolved) {
      const key = `${e.host}:${e.port}`;
      next.set(key, entry.hosts.get(key) ?? { host: e.host, port: e.port, active: 0 });
    }
    entry.hosts = next;
    return [...next.values()];
  }

  /** What the cluster's TLS context asks of a connection (Envoy: SAN matchers only, no host-name check). */
  private clientTls(tls: UpstreamTlsConfig, source: ContextSource): ClientTlsOptions {
    return {
      source,
      policy: tls.policy,
      verify: tls.validation !== undefined,
      subjectAltNames: tls.subjectAltNames,
      // Envoy sends the configured SNI only; never the address dialled.
      sni: tls.sni ?? '',
    };
  }

  private agentOf(entry: ClusterEntry): HttpAgent | undefined {
    if (entry.agent) return entry.agent;
    const tls = entry.config.tls;
    if (!tls) {
      entry.agent = new HttpAgent({ keepAlive: true });
      return entry.agent;
    }
    if (!entry.tls?.ready()) return undefined;
    const options: ClientTlsOptions = {
      ...this.clientTls(tls, entry.tls),
      alpn: ['http/1.1'],
      handshakeTimeoutMs: entry.config.connectTimeoutMs,
    };
    const agent = new HttpsAgent({ keepAlive: true });
    // Our own connect: the socket reaches the pool only once the server is verified, and a refusal
    // says which CA issued the certificate presented (an intercepting proxy, a stale CA).
    (
      agent as unknown as {
        createConnection: (o: ClientRequestArgs, cb: (err: Error | null, s?: Socket) => void) => undefined;
      }
    ).createConnection = (o, cb) => {
      const peer = `cluster ${entry.config.name} ${o.host ?? ''}:${String(o.port ?? '')}`;
      secureConnect({ host: String(o.host), port: Number(o.port), peer }, options).then(
        (s) => cb(null, s),
        (err: Error) => {
          this.logRefusal(entry.config.name, err);
          cb(err);
        },
      );
      return undefined;
    };
    entry.agent = agent;
    return entry.agent;
  }

  private grpcCredentialsOf(entry: ClusterEntry): grpc.ChannelCredentials | undefined {
    const tls = entry.config.tls;
    if (!tls || !entry.tls) return undefined;
    entry.grpcCredentials ??= grpcChannelCredentials({ ...this.clientTls(tls, entry.tls), matchTarget: false });
    return entry.grpcCredentials;
  }

  /** Upstream TLS refusals, at most one log line per cluster per 10 s (Envoy counts them in ssl.* stats). */
  private logRefusal(cluster: string, err: Error & { code?: string }): void {
    const now = Date.now();
    if (now - (this.refusalsLogged.get(cluster) ?? 0) < 10_000) return;
    this.refusalsLogged.set(cluster, now);
    this.options.log.warn({ cluster, code: err.code, reason: err.message }, 'upstream TLS connection failed');
  }

  /** Pools of replaced clusters are closed once idle, so in-flight requests finish. */
  private retire(entry: ClusterEntry): void {
    const agent = entry.agent;
    entry.agent = undefined;
    if (agent) setTimeout(() => agent.destroy(), 30_000).unref();
  }
}
