// TLS transport sockets: downstream (listeners) and upstream (targets, and extproc), with explicit
// protocol versions, certificates over SDS, and server-name verification for upstreams: a DNS SAN for
// a name, an IP SAN for an address (an address is never sent as SNI, RFC 6066).
import { isIP } from 'node:net';
import { extProcSdsFileNames, extProcSdsNames } from '../../api/names.ts';
import type { IrExtProcTls, IrListenerTls, IrUpstreamTls } from '../ir.ts';
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
      ...(tls.clientCertificate !== 'None'
        ? { validation_context_sds_secret_config: sds(sdsCa(tls.certificateSecret)) }
        : {}),
    },
    require_client_certificate: tls.clientCertificate === 'Required',
  });
}

/** The SAN the peer must carry for `name`: its IP address SAN for an address, else its DNS SAN. */
export function sanMatcher(name: string): Json {
  return { san_type: isIP(name) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: name } };
}

export function upstreamTls(tls: IrUpstreamTls): Json {
  // Without a SAN matcher Envoy would accept any certificate the CA signed.
  const verifyName = { match_typed_subject_alt_names: [sanMatcher(tls.sni)] };
  const validation = tls.caSecret
    ? {
        combined_validation_context: {
          default_validation_context: verifyName,
          validation_context_sds_secret_config: sds(sdsCa(tls.caSecret)),
        },
      }
    : { validation_context: { trusted_ca: { filename: systemTrustStore }, ...verifyName } };
  return transportSocket({
    '@type': typeUrls.upstreamTls,
    ...(isIP(tls.sni) ? {} : { sni: tls.sni }),
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: envoyTlsVersion(tls.minVersion),
        tls_maximum_protocol_version: envoyTlsVersion(tls.maxVersion),
      },
      ...(tls.clientCertSecret
        ? { tls_certificate_sds_secret_configs: [sds(sdsCertificate(tls.clientCertSecret))] }
        : {}),
      ...validation,
    },
  });
}

/** Names of the filesystem SDS secrets Envoy reads its extproc client certificate and CA from (api/names.ts). */
export { extProcSdsNames };

const parentDir = (file: string) => file.slice(0, Math.max(1, file.lastIndexOf('/')));

/**
 * An SdsSecretConfig read from a file by Envoy itself (filesystem SDS), reloaded when kubelet swaps
 * the file's (ConfigMap) volume. Envoy watches certificate files for renewal only in secrets delivered
 * by SDS: inline file names in a transport socket are read once and expire in place.
 */
export function fileSdsSecretConfig(name: string, path: string): Json {
  return {
    name,
    sds_config: {
      path_config_source: { path, watched_directory: { path: parentDir(path) } },
      resource_api_version: 'V3',
    },
  };
}

/** The content of a filesystem SDS file: a DiscoveryResponse holding one Secret. */
function sdsFile(secret: Json): string {
  return `${JSON.stringify({ resources: [{ '@type': typeUrls.secret, ...secret }] }, null, 2)}\n`;
}

/** A filesystem SDS file naming a mounted certificate and key, re-read when kubelet swaps their Secret volume. */
export function certificateSdsFile(name: string, certFile: string, keyFile: string): string {
  return sdsFile({
    name,
    tls_certificate: {
      certificate_chain: { filename: certFile },
      private_key: { filename: keyFile },
      watched_directory: { path: parentDir(certFile) },
    },
  });
}

/** A filesystem SDS file naming a mounted CA bundle, re-read when kubelet swaps its Secret volume. */
export function validationSdsFile(name: string, caFile: string): string {
  return sdsFile({
    name,
    validation_context: { trusted_ca: { filename: caFile }, watched_directory: { path: parentDir(caFile) } },
  });
}

/**
 * Mutual TLS from Envoy to extproc, its certificate and CA from files in the Envoy pod through
 * filesystem SDS (extProcTlsSdsFiles).
 */
export function extProcUpstreamTls(tls: IrExtProcTls): Json {
  return transportSocket({
    '@type': typeUrls.upstreamTls,
    ...(isIP(tls.sni) ? {} : { sni: tls.sni }),
    common_tls_context: {
      tls_params: { tls_minimum_protocol_version: 'TLSv1_2', tls_maximum_protocol_version: 'TLSv1_3' },
      alpn_protocols: ['h2'],
      tls_certificate_sds_secret_configs: [
        fileSdsSecretConfig(extProcSdsNames.certificate, `${tls.sdsDir}/${extProcSdsFileNames.certificate}`),
      ],
      combined_validation_context: {
        default_validation_context: { match_typed_subject_alt_names: [sanMatcher(tls.sni)] },
        validation_context_sds_secret_config: fileSdsSecretConfig(
          extProcSdsNames.validation,
          `${tls.sdsDir}/${extProcSdsFileNames.validation}`,
        ),
      },
    },
  });
}

/**
 * The two filesystem SDS files extProcUpstreamTls names, by file name, to put in `sdsDir` (e.g. the
 * Envoy bootstrap ConfigMap, mounted there).
 */
export function extProcTlsSdsFiles(tls: IrExtProcTls): Record<string, string> {
  return {
    [extProcSdsFileNames.certificate]: certificateSdsFile(extProcSdsNames.certificate, tls.certFile, tls.keyFile),
    [extProcSdsFileNames.validation]: validationSdsFile(extProcSdsNames.validation, tls.caFile),
  };
}
