// TLS transport sockets: downstream (listeners) and upstream (targets, and extproc), with explicit
// protocol versions, certificates over SDS, and server-name verification for upstreams: a DNS SAN for
// a name, an IP SAN for an address (an address is never sent as SNI, RFC 6066).
import { isIP } from 'node:net';
import { extProcSdsFileNames, extProcSdsNames } from '../../api/names.ts';
import type { TransportSocket } from '../../../../protos/gen/json/envoy.config.core.v3.ts';
import type {
  CertificateValidationContext,
  CommonTlsContext,
  SdsSecretConfig,
  Secret,
  SubjectAltNameMatcher,
  TlsParameters,
  UpstreamTlsContext,
} from '../../../../protos/gen/json/envoy.extensions.transport_sockets.tls.v3.ts';
import type { DiscoveryResponse } from '../../../../protos/gen/json/envoy.service.discovery.v3.ts';
import type { Any } from '../../../../protos/gen/json/google.protobuf.ts';
import type { IrExtProcTls, IrListenerTls, IrUpstreamTls } from '../ir.ts';
import { envoyTlsVersion, typeUrls } from './names.ts';
import type { SdsSecretRefs } from './secrets.ts';

/** Where Envoy's image keeps the system trust store, used when a target names no CA. */
export const systemTrustStore = '/etc/ssl/certs/ca-certificates.crt';

function transportSocket(typedConfig: Any): TransportSocket {
  return { name: 'envoy.transport_sockets.tls', typed_config: typedConfig };
}

/** The listener's certificate, and with client certificates its CA, over SDS (recorded in `sds`). */
export function downstreamTls(tls: IrListenerTls, sds: SdsSecretRefs): TransportSocket {
  return transportSocket({
    '@type': typeUrls.downstreamTls,
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: envoyTlsVersion(tls.minVersion),
        tls_maximum_protocol_version: envoyTlsVersion(tls.maxVersion),
        ...(tls.cipherSuites.length > 0 ? ({ cipher_suites: tls.cipherSuites } satisfies TlsParameters) : {}),
      },
      alpn_protocols: ['h2', 'http/1.1'],
      tls_certificate_sds_secret_configs: [sds.config(tls.certificateSecret, 'certificate')],
      ...(tls.clientCertificate !== 'None'
        ? ({ validation_context_sds_secret_config: sds.config(tls.certificateSecret, 'ca') } satisfies CommonTlsContext)
        : {}),
    },
    require_client_certificate: tls.clientCertificate === 'Required',
  });
}

/** The SAN the peer must carry for `name`: its IP address SAN for an address, else its DNS SAN. */
export function sanMatcher(name: string): SubjectAltNameMatcher {
  return { san_type: isIP(name) ? 'IP_ADDRESS' : 'DNS', matcher: { exact: name } };
}

/** TLS to a target: its CA and Envoy's client certificate, when named, over SDS (recorded in `sds`). */
export function upstreamTls(tls: IrUpstreamTls, sds: SdsSecretRefs, alpn?: string[]): TransportSocket {
  // Without a SAN matcher Envoy would accept any certificate the CA signed.
  const verifyName: CertificateValidationContext = { match_typed_subject_alt_names: [sanMatcher(tls.sni)] };
  const validation: CommonTlsContext = tls.caSecret
    ? {
        combined_validation_context: {
          default_validation_context: verifyName,
          validation_context_sds_secret_config: sds.config(tls.caSecret, 'ca'),
        },
      }
    : { validation_context: { trusted_ca: { filename: systemTrustStore }, ...verifyName } };
  return transportSocket({
    '@type': typeUrls.upstreamTls,
    ...(isIP(tls.sni) ? {} : ({ sni: tls.sni } satisfies UpstreamTlsContext)),
    common_tls_context: {
      tls_params: {
        tls_minimum_protocol_version: envoyTlsVersion(tls.minVersion),
        tls_maximum_protocol_version: envoyTlsVersion(tls.maxVersion),
      },
      ...(alpn ? ({ alpn_protocols: alpn } satisfies CommonTlsContext) : {}),
      ...(tls.clientCertSecret
        ? ({
            tls_certificate_sds_secret_configs: [sds.config(tls.clientCertSecret, 'certificate')],
          } satisfies CommonTlsContext)
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
export function fileSdsSecretConfig(name: string, path: string): SdsSecretConfig {
  return {
    name,
    sds_config: {
      path_config_source: { path, watched_directory: { path: parentDir(path) } },
      resource_api_version: 'V3',
    },
  };
}

/** The content of a filesystem SDS file: a DiscoveryResponse holding one Secret. */
function sdsFile(secret: Secret): string {
  const response: DiscoveryResponse = { resources: [{ '@type': typeUrls.secret, ...secret }] };
  return `${JSON.stringify(response, null, 2)}\n`;
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
export function extProcUpstreamTls(tls: IrExtProcTls): TransportSocket {
  return transportSocket({
    '@type': typeUrls.upstreamTls,
    ...(isIP(tls.sni) ? {} : ({ sni: tls.sni } satisfies UpstreamTlsContext)),
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
