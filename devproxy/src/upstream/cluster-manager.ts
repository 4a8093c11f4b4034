// The cluster manager: the clusters from CDS, their hosts (the cluster's own load assignment,
// DNS-resolved for STRICT_DNS, or the ClusterLoadAssignment from EDS), a load balancer and an HTTP(S)
// connection pool per cluster, and the SDS secrets upstream TLS refers to.
import { lookup } from 'node:dns/promises';
import { Agent as HttpAgent } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import { isIP } from 'node:net';
import type { PeerCertificate } from 'node:tls';
import type { ClusterConfig, Endpoint } from '../config/model.ts';
import { LoadBalancer, type Host } from './load-balancer.ts';

/** How often STRICT_DNS hosts are re-resolved (Envoy's default dns_refresh_rate). */
const dnsRefreshMs = 5000;

export interface PickedHost {
  cluster: ClusterConfig;
  host: string;
  port: number;
  agent: HttpAgent;
  /** Call when the request to this host ends (LEAST_REQUEST accounting). */
  release: () => void;
}

/** Envoy's dns_lookup_family over the resolved addresses (AUTO prefers IPv6, V4_PREFERRED IPv4). */
function pickFamily(addresses: Array<{ address: string; family: number }>, family: ClusterConfig['dnsFamily']): Array<{ address: string }> {
  const v4 = addresses.filter((a) => a.family === 4);
  const v6 = addresses.filter((a) => a.family === 6);
  switch (family) {
    case 'V4_ONLY': return v4;
    case 'V6_ONLY': return v6;
    case 'V4_PREFERRED': return v4.length > 0 ? v4 : v6;
    case 'AUTO': return v6.length > 0 ? v6 : v4;
    case 'ALL': return addresses;
  }
}

export type PickFailure = { reason: 'no_cluster' | 'no_healthy_upstream' | 'tls_secret_missing'; message: string };

interface ClusterEntry {
  config: ClusterConfig;
  balancer: LoadBalancer;
  hosts: Map<string, Host>;
  agent: HttpAgent | undefined;
  resolvedAt: number;
}

export class ClusterManager {
  private readonly clusters = new Map<string, ClusterEntry>();
  private readonly edsEndpoints = new Map<string, Endpoint[]>();
  private readonly secrets = new Map<string, string>();

  /** Replaces the set of clusters (CDS is state of the world); unchanged clusters keep their pools and counters. */
  setClusters(configs: readonly ClusterConfig[]): void {
    const next = new Map(configs.map((c) => [c.name, c]));
    for (const [name, entry] of this.clusters) {
      if (JSON.stringify(next.get(name)) === JSON.stringify(entry.config)) continue;
      this.retire(entry);
      this.clusters.delete(name);
    }
    for (const c of configs) {
      if (!this.clusters.has(c.name)) this.clusters.set(c.name, { config: c, balancer: new LoadBalancer(c.lbPolicy), hosts: new Map(), agent: undefined, resolvedAt: 0 });
    }
  }

  /** Cluster names whose endpoints come over EDS, keyed by their service name. */
  edsServiceNames(): string[] {
    return [...this.clusters.values()].filter((e) => e.config.discovery === 'EDS').map((e) => e.config.edsServiceName);
  }

  /** SDS secret names the clusters' TLS contexts refer to. */
  secretNames(): string[] {
    return [...new Set([...this.clusters.values()].flatMap((e) => (e.config.tls?.caSecretName ? [e.config.tls.caSecretName] : [])))];
  }

  setEndpoints(serviceName: string, endpoints: Endpoint[]): void {
    this.edsEndpoints.set(serviceName, endpoints);
  }

  setSecret(name: string, caPem: string): void {
    this.secrets.set(name, caPem);
    for (const entry of this.clusters.values()) {
      if (entry.config.tls?.caSecretName === name) this.retire(entry);
    }
  }

  async pick(clusterName: string): Promise<PickedHost | PickFailure> {
    const entry = this.clusters.get(clusterName);
    if (!entry) return { reason: 'no_cluster', message: `no cluster ${clusterName}` };
    const hosts = await this.hostsOf(entry);
    const host = entry.balancer.pick(hosts);
    if (!host) return { reason: 'no_healthy_upstream', message: 'no healthy upstream' };
    const agent = this.agentOf(entry);
    if (!agent) return { reason: 'tls_secret_missing', message: `upstream TLS CA secret ${entry.config.tls?.caSecretName} not received` };
    host.active++;
    let released = false;
    return {
      cluster: entry.config, host: host.host, port: host.port, agent,
      release: () => {
        if (!released) host.active--;
        released = true;
      },
    };
  }

  close(): void {
    for (const entry of this.clusters.values()) this.retire(entry);
    this.clusters.clear();
  }

  private async hostsOf(entry: ClusterEntry): Promise<Host[]> {
    const c = entry.config;
    const endpoints = c.discovery === 'EDS' ? this.edsEndpoints.get(c.edsServiceName) ?? [] : c.endpoints;
    let resolved = endpoints.filter((e) => e.healthy);
    if (c.discovery === 'STRICT_DNS') {
      if (Date.now() - entry.resolvedAt < dnsRefreshMs) return [...entry.hosts.values()];
      resolved = (await Promise.all(resolved.map(async (e) => {
        if (isIP(e.host)) return [e];
        const addresses = await lookup(e.host, { all: true }).catch(() => []);
        return pickFamily(addresses, c.dnsFamily).map((a) => ({ ...e, host: a.address }));
      }))).flat();
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

  private agentOf(entry: ClusterEntry): HttpAgent | undefined {
    if (entry.agent) return entry.agent;
    const tls = entry.config.tls;
    if (!tls) {
      entry.agent = new HttpAgent({ keepAlive: true });
      return entry.agent;
    }
    const ca = tls.caSecretName ? this.secrets.get(tls.caSecretName) : tls.ca;
    if (tls.caSecretName && ca === undefined) return undefined;
    const sans = tls.subjectAltNames;
    entry.agent = new HttpsAgent({
      keepAlive: true,
      ...(tls.sni ? { servername: tls.sni } : {}),
      ...(tls.minVersion ? { minVersion: tls.minVersion } : {}),
      ...(tls.maxVersion ? { maxVersion: tls.maxVersion } : {}),
      ...(ca ? { ca } : {}),
      rejectUnauthorized: tls.verify,
      // Envoy checks the SAN matchers, not the SNI, against the certificate; without matchers any
      // certificate the CA signed is accepted.
      checkServerIdentity: (_host: string, cert: PeerCertificate) => {
        if (sans.length === 0) return undefined;
        const dns = (cert.subjectaltname ?? '').split(', ').filter((s) => s.startsWith('DNS:')).map((s) => s.slice(4).toLowerCase());
        return dns.some((d) => sans.includes(d)) ? undefined : new Error(`certificate SANs ${dns.join(',')} match none of ${sans.join(',')}`);
      },
    }) as unknown as HttpAgent;
    return entry.agent;
  }

  /** Pools of replaced clusters are closed once idle, so in-flight requests finish. */
  private retire(entry: ClusterEntry): void {
    const agent = entry.agent;
    entry.agent = undefined;
    if (agent) setTimeout(() => agent.destroy(), 30_000).unref();
  }
}
