// TLS transport sockets: downstream (listeners) and upstream (targets), with explicit protocol
// versions, certificates over SDS, and server-name verification for upstreams.
import type { IrListenerTls, IrUpstreamTls } from '../ir.ts';
import { adsConfigSource, envoyTlsVersion, sdsCa, sdsCertificate, typeUrls, type Json } from './names.ts';

/** Where Envoy's image keeps the system trust store, used when a target names no CA. */
export const systemTrustStore = '/etc/ssl/certs/ca-certificates.crt';

const sds = (name: string) => ({ name, sds_config: adsConfigSource });

function transportSocket(typedConfig: Json): Json {
  return { name: 'envoy.transport_sockets.tls', typed_config: typedConfig };
}

export function downstreamTls(tls: IrListenerTls): Json {
  return transportSocket({
    '@type': typeUrls.downstreamTls,
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: envoyTlsVersion(tls.minVersion),
        tls_maximum_protocol_version: envoyTlsVersion(tls.maxVersion),
        ...(tls.cipherSuites.length > 0 ? { cipher_suites: tls.cipherSuites } : {}),
      },
      alpn_protocols: ['h2', 'http/1.1'],
      tls_certificate_sds_secret_configs: [sds(sdsCertificate(tls.certificateSecret))],
      ...(tls.clientCertificate !== 'None' ? { validation_context_sds_secret_config: sds(sdsCa(tls.certificateSecret)) } : {}),
    },
    require_client_certificate: tls.clientCertificate === 'Required',
  });
}

export function upstreamTls(tls: IrUpstreamTls): Json {
  // Without a SAN matcher Envoy would accept any certificate the CA signed.
  const verifyName = { match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: tls.sni } }] };
  const validation = tls.caSecret
    ? { combined_validation_context: { default_validation_context: verifyName, validation_context_sds_secret_config: sds(sdsCa(tls.caSecret)) } }
    : { validation_context: { trusted_ca: { filename: systemTrustStore }, ...verifyName } };
  return transportSocket({
    '@type': typeUrls.upstreamTls,
    sni: tls.sni,
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: envoyTlsVersion(tls.minVersion),
        tls_maximum_protocol_version: envoyTlsVersion(tls.maxVersion),
      },
      ...(tls.clientCertSecret ? { tls_certificate_sds_secret_configs: [sds(sdsCertificate(tls.clientCertSecret))] } : {}),
      ...validation,
    },
  });
}
