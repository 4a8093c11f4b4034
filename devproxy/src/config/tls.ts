// The TLS transport socket, as Envoy reads it: DownstreamTlsContext (listeners) and
// UpstreamTlsContext (clusters) -> where the certificate and the trust bundle come from (SDS over
// ADS, filesystem SDS, files, inline), the protocol versions and cipher suites (tls_params), ALPN,
// client certificate requirement and subject-alt-name matchers. Envoy's defaults apply to what is
// unset (servers TLS 1.2-1.3, clients TLS 1.2-1.2); what devproxy cannot honour is rejected (NACK).
import { tlsPolicy, type TlsPolicy } from '../../../lib/tls/policy.ts';
import type { SanMatcher } from '../../../lib/tls/peer.ts';
import { ConfigRejectedError } from '../errors.ts';
import { boolValue, unpackAny, type Decoded, type PackedAny } from '../xds/envoy-protos.ts';

const tlsTypeUrls = {
  upstream: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.UpstreamTlsContext',
  downstream: 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext',
} as const;

/** Where a certificate (and its key) comes from. */
export type CertificateRef =
  | { kind: 'ads'; name: string }
  | { kind: 'file-sds'; name: string; path: string }
  | { kind: 'files'; certFile: string; keyFile: string }
  | { kind: 'inline'; cert: string; key: string };

/** Where a trust bundle comes from. */
export type ValidationRef =
  | { kind: 'ads'; name: string }
  | { kind: 'file-sds'; name: string; path: string }
  | { kind: 'file'; caFile: string }
  | { kind: 'inline'; ca: string };

export interface TlsContextConfig {
  certificate?: CertificateRef;
  validation?: ValidationRef;
  policy: TlsPolicy;
  alpn: string[];
  /** The peer must carry one of these (Envoy's match_typed_subject_alt_names, exact matchers). */
  subjectAltNames: SanMatcher[];
}

export interface DownstreamTlsConfig extends TlsContextConfig {
  requireClientCertificate: boolean;
}

export interface UpstreamTlsConfig extends TlsContextConfig {
  sni?: string;
}

const envoyVersions: Record<string, string | undefined> = {
  TLS_AUTO: undefined,
  TLSv1_0: 'TLSv1.0',
  TLSv1_1: 'TLSv1.1',
  TLSv1_2: 'TLSv1.2',
  TLSv1_3: 'TLSv1.3',
};

function policyOf(
  params: Decoded | null | undefined,
  defaults: { min: string; max: string },
  where: string,
): TlsPolicy {
  const p = params ?? {};
  if ((p.ecdh_curves as string[] | undefined)?.length || (p.signature_algorithms as string[] | undefined)?.length) {
    throw new ConfigRejectedError(
      `${where}: tls_params ecdh_curves and signature_algorithms are not supported by devproxy`,
    );
  }
  try {
    return tlsPolicy(
      {
        minVersion:
          envoyVersions[String((p.tls_minimum_protocol_version as string | undefined) ?? 'TLS_AUTO')] ?? defaults.min,
        maxVersion:
          envoyVersions[String((p.tls_maximum_protocol_version as string | undefined) ?? 'TLS_AUTO')] ?? defaults.max,
        cipherSuites: (p.cipher_suites as string[] | undefined) ?? [],
      },
      where,
    );
  } catch (err) {
    throw new ConfigRejectedError((err as Error).message);
  }
}

/** A DataSource as text (file names are kept as names: the file is read, and watched, where it is used). */
function inlineText(d: Decoded, where: string): string {
  switch (d.specifier) {
    case 'inline_string':
      return String(d.inline_string);
    case 'inline_bytes':
      return (d.inline_bytes as Buffer).toString('utf8');
    default:
      throw new ConfigRejectedError(`${where}: data source ${String(d.specifier)} is not supported here`);
  }
}

function sdsSource(
  c: Decoded,
  where: string,
): { kind: 'ads'; name: string } | { kind: 'file-sds'; name: string; path: string } {
  const name = String(c.name);
  const source = c.sds_config as Decoded | null;
  if (!source || source.config_source_specifier === 'ads') return { kind: 'ads', name };
  if (source.config_source_specifier === 'path_config_source')
    return { kind: 'file-sds', name, path: String((source.path_config_source as Decoded).path) };
  throw new ConfigRejectedError(
    `${where}: SDS source ${String(source.config_source_specifier)} is not supported by devproxy (ADS or path_config_source)`,
  );
}

/** A TlsCertificate (also the one inside an SDS Secret). */
export function certificateOf(t: Decoded, where: string): CertificateRef {
  if (t.private_key_provider || t.pkcs12)
    throw new ConfigRejectedError(`${where}: private_key_provider and pkcs12 are not supported by devproxy`);
  const chain = t.certificate_chain as Decoded | null;
  const key = t.private_key as Decoded | null;
  if (!chain || !key) throw new ConfigRejectedError(`${where}: a certificate needs certificate_chain and private_key`);
  if (chain.specifier === 'filename' && key.specifier === 'filename')
    return { kind: 'files', certFile: String(chain.filename), keyFile: String(key.filename) };
  return { kind: 'inline', cert: inlineText(chain, where), key: inlineText(key, where) };
}

function sans(v: Decoded | null | undefined, where: string): SanMatcher[] {
  return ((v?.match_typed_subject_alt_names ?? []) as Decoded[]).map((m) => {
    const matcher = m.matcher as Decoded;
    const type = String(m.san_type);
    if (!['DNS', 'IP_ADDRESS', 'URI', 'EMAIL'].includes(type) || matcher.match_pattern !== 'exact') {
      throw new ConfigRejectedError(
        `${where}: only exact DNS, IP_ADDRESS, URI and EMAIL subject-alt-name matchers are supported`,
      );
    }
    return { type: type as SanMatcher['type'], exact: String(matcher.exact) };
  });
}

/** A CertificateValidationContext's trusted CA (also the one inside an SDS Secret). */
export function trustedCaOf(v: Decoded, where: string): ValidationRef | undefined {
  const ca = v.trusted_ca as Decoded | null;
  if (!ca) return undefined;
  return ca.specifier === 'filename'
    ? { kind: 'file', caFile: String(ca.filename) }
    : { kind: 'inline', ca: inlineText(ca, where) };
}

function validationOf(ctx: Decoded, where: string): Pick<TlsContextConfig, 'validation' | 'subjectAltNames'> {
  switch (ctx.validation_context_type) {
    case 'validation_context': {
      const v = ctx.validation_context as Decoded;
      const validation = trustedCaOf(v, where);
      return { ...(validation ? { validation } : {}), subjectAltNames: sans(v, where) };
    }
    case 'validation_context_sds_secret_config':
      return { validation: sdsSource(ctx.validation_context_sds_secret_config as Decoded, where), subjectAltNames: [] };
    case 'combined_validation_context': {
      const c = ctx.combined_validation_context as Decoded;
      return {
        validation: sdsSource(c.validation_context_sds_secret_config as Decoded, where),
        subjectAltNames: sans(c.default_validation_context as Decoded, where),
      };
    }
    default:
      return { subjectAltNames: [] };
  }
}

function commonContext(ctx: Decoded, defaults: { min: string; max: string }, where: string): TlsContextConfig {
  const certs = (ctx.tls_certificates ?? []) as Decoded[];
  const sdsCerts = (ctx.tls_certificate_sds_secret_configs ?? []) as Decoded[];
  if (certs.length + sdsCerts.length > 1)
    throw new ConfigRejectedError(`${where}: devproxy serves one certificate per TLS context`);
  const certificate = certs[0]
    ? certificateOf(certs[0], where)
    : sdsCerts[0]
      ? sdsSource(sdsCerts[0], where)
      : undefined;
  return {
    ...(certificate ? { certificate } : {}),
    ...validationOf(ctx, where),
    policy: policyOf(ctx.tls_params as Decoded | null, defaults, where),
    alpn: ((ctx.alpn_protocols ?? []) as string[]).slice(),
  };
}

export function parseDownstreamTls(socket: Decoded, where: string): DownstreamTlsConfig {
  const tls = unpackAny(socket.typed_config as PackedAny, tlsTypeUrls.downstream);
  const config = commonContext((tls.common_tls_context ?? {}) as Decoded, { min: 'TLSv1.2', max: 'TLSv1.3' }, where);
  if (!config.certificate) throw new ConfigRejectedError(`${where}: a downstream TLS context needs a certificate`);
  const requireClientCertificate = boolValue(tls.require_client_certificate, false);
  if (requireClientCertificate && !config.validation)
    throw new ConfigRejectedError(`${where}: require_client_certificate needs a validation context`);
  return { ...config, requireClientCertificate };
}

export function parseUpstreamTls(socket: Decoded, where: string): UpstreamTlsConfig {
  const tls = unpackAny(socket.typed_config as PackedAny, tlsTypeUrls.upstream);
  // Envoy's client default tops out at TLS 1.2.
  const config = commonContext((tls.common_tls_context ?? {}) as Decoded, { min: 'TLSv1.2', max: 'TLSv1.2' }, where);
  const sni = tls.sni as string | undefined;
  return { ...config, ...(sni ? { sni: String(sni) } : {}) };
}

/** SDS names (over ADS) a context needs before it can serve. */
export function adsSecretNames(c: TlsContextConfig | undefined): string[] {
  if (!c) return [];
  return [c.certificate, c.validation].flatMap((r) => (r?.kind === 'ads' ? [r.name] : []));
}
