// Cluster and ClusterLoadAssignment -> ClusterConfig / endpoints: discovery type, load-balancing
// policy, connect timeout and the upstream TLS context (SNI, protocol
// versions, trusted CA inline, from a file or over SDS, subject-alt-name matching).
import { readFileSync } from 'node:fs';
import { ConfigRejectedError } from '../errors.ts';
import { durationMs, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';
import type { ClusterConfig, Endpoint, LbPolicy, UpstreamTlsConfig } from './model.ts';

const upstreamTlsTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext';
const httpOptionsTypeUrl = 'type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions';
const tlsVersions = { TLSv1_0: 'TLSv1', TLSv1_1: 'TLSv1.1', TLSv1_2: 'TLSv1.2', TLSv1_3: 'TLSv1.3' } as const;
const unhealthy = new Set(['UNHEALTHY', 'DRAINING', 'TIMEOUT']);

function dataSource(d: Decoded, where: string): string {
  switch (d.specifier) {
    case 'inline_string': return String(d.inline_string);
    case 'inline_bytes': return (d.inline_bytes as Buffer).toString('utf8');
    case 'filename':
      try {
        return readFileSync(String(d.filename), 'utf8');
      } catch (err) {
        throw new ConfigRejectedError(`${where}: cannot read ${String(d.filename)}: ${(err as Error).message}`);
      }
    default: throw new ConfigRejectedError(`${where}: data source ${String(d.specifier)} is not supported`);
  }
}

function tlsVersion(v: unknown): UpstreamTlsConfig['minVersion'] {
  return typeof v === 'string' && v in tlsVersions ? tlsVersions[v as keyof typeof tlsVersions] : undefined;
}

function validation(ctx: Decoded, where: string): Pick<UpstreamTlsConfig, 'ca' | 'caSecretName' | 'verify' | 'subjectAltNames'> {
  const sans = (v: Decoded | null | undefined) => ((v?.match_typed_subject_alt_names ?? []) as Decoded[]).map((m) => {
    const matcher = m.matcher as Decoded;
    if (m.san_type !== 'DNS' || matcher.match_pattern !== 'exact') throw new ConfigRejectedError(`${where}: only exact DNS subject-alt-name matchers are supported`);
    return String(matcher.exact).toLowerCase();
  });
  switch (ctx.validation_context_type) {
    case 'validation_context': {
      const v = ctx.validation_context as Decoded;
      return { verify: true, ca: v.trusted_ca ? dataSource(v.trusted_ca as Decoded, where) : undefined, subjectAltNames: sans(v) };
    }
    case 'validation_context_sds_secret_config':
      return { verify: true, caSecretName: String((ctx.validation_context_sds_secret_config as Decoded).name), subjectAltNames: [] };
    case 'combined_validation_context': {
      const c = ctx.combined_validation_context as Decoded;
      return { verify: true, caSecretName: String((c.validation_context_sds_secret_config as Decoded).name), subjectAltNames: sans(c.default_validation_context as Decoded) };
    }
    default: return { verify: false, subjectAltNames: [] };
  }
}

function upstreamTls(socket: Decoded, where: string): UpstreamTlsConfig {
  const tls = unpackAny(socket.typed_config as PackedAny, upstreamTlsTypeUrl);
  const ctx = (tls.common_tls_context ?? {}) as Decoded;
  if ((ctx.tls_certificates as Decoded[]).length > 0 || (ctx.tls_certificate_sds_secret_configs as Decoded[]).length > 0) {
    throw new ConfigRejectedError(`${where}: upstream client certificates are not supported by devproxy`);
  }
  const params = (ctx.tls_params ?? {}) as Decoded;
  return {
    ...(tls.sni ? { sni: String(tls.sni) } : {}),
    minVersion: tlsVersion(params.tls_minimum_protocol_version),
    maxVersion: tlsVersion(params.tls_maximum_protocol_version),
    ...validation(ctx, where),
  };
}

/** HttpProtocolOptions are checked to decode; devproxy speaks HTTP/1.1 upstream and gRPC (HTTP/2) to ext_proc either way. */
function checkProtocolOptions(c: Decoded, where: string): void {
  for (const [key, any] of Object.entries((c.typed_extension_protocol_options ?? {}) as Record<string, PackedAny>)) {
    if (any.type_url !== httpOptionsTypeUrl) throw new ConfigRejectedError(`${where}: protocol options ${key} (${any.type_url}) are not supported`);
    unpackAny(any);
  }
}

export function parseEndpoints(cla: Decoded): Endpoint[] {
  return (cla.endpoints as Decoded[]).flatMap((locality) => (locality.lb_endpoints as Decoded[]).map((lb) => {
    const socket = ((lb.endpoint as Decoded).address as Decoded).socket_address as Decoded;
    return { host: String(socket.address), port: Number(socket.port_value), healthy: !unhealthy.has(String(lb.health_status)) };
  }));
}

export function parseCluster(c: Decoded): ClusterConfig {
  const name = String(c.name);
  const where = `cluster ${name}`;
  const type = c.type;
  if (type !== 'STATIC' && type !== 'STRICT_DNS' && type !== 'EDS' && type !== 'LOGICAL_DNS') throw new ConfigRejectedError(`${where}: discovery type ${String(type)} is not supported by devproxy`);
  const lb = String(c.lb_policy);
  if (lb !== 'ROUND_ROBIN' && lb !== 'LEAST_REQUEST' && lb !== 'RANDOM') throw new ConfigRejectedError(`${where}: lb_policy ${lb} is not supported by devproxy`);
  const socket = c.transport_socket as Decoded | null;
  const eds = c.eds_cluster_config as Decoded | null;
  checkProtocolOptions(c, where);
  return {
    name,
    // LOGICAL_DNS behaves as STRICT_DNS here: devproxy resolves per request anyway.
    discovery: type === 'LOGICAL_DNS' ? 'STRICT_DNS' : type,
    edsServiceName: eds?.service_name ? String(eds.service_name) : name,
    lbPolicy: lb as LbPolicy,
    dnsFamily: (['V4_ONLY', 'V6_ONLY', 'V4_PREFERRED', 'ALL'] as const).find((f) => f === c.dns_lookup_family) ?? 'AUTO',
    connectTimeoutMs: durationMs(c.connect_timeout) ?? 5000,
    ...(socket ? { tls: upstreamTls(socket, where) } : {}),
    endpoints: c.load_assignment ? parseEndpoints(c.load_assignment as Decoded) : [],
  };
}
