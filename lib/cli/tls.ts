// The TLS flag blocks the commands share: a server's --tls-* (operator's xDS, extproc's ext_proc) and a
// client's --xds-tls-* (extproc and devproxy dialling xDS), and the rules across each block. The
// result is the configuration lib/tls/flags.ts loads and watches.
import { UsageError } from '../errors.ts';
import { parseTlsVersion, tlsPolicy, type TlsPolicy, type TlsVersionName } from '../tls/policy.ts';
import type { ClientTlsConfig, ServerTlsConfig } from '../tls/flags.ts';
import { defineFlag, list, text, type FlagOptions, type FlagValues } from './flags.ts';

function tlsVersion<const O extends FlagOptions<TlsVersionName>>(o: O) {
  const parse = (t: string): TlsVersionName => {
    try {
      return parseTlsVersion(t, 'version');
    } catch {
      throw new UsageError(`"${t}" is not a TLS version (TLSv1.0, TLSv1.1, TLSv1.2 or TLSv1.3)`);
    }
  };
  return defineFlag<TlsVersionName, O>({ value: 'VERSION', parse }, o);
}

/** --tls-cert, --tls-key, --tls-client-ca and the policy flags of a server. */
export function serverTlsFlags(o: { serves: string; clientCertificates: string }) {
  return {
    'tls-cert': text({
      value: 'FILE',
      description: `serve ${o.serves} over TLS with this certificate chain (PEM; reloaded when it changes)`,
    }),
    'tls-key': text({ value: 'FILE', description: 'the private key of --tls-cert' }),
    'tls-client-ca': text({
      value: 'FILE',
      description: `require ${o.clientCertificates} signed by this CA bundle (mutual TLS; reloaded)`,
    }),
    'tls-min-version': tlsVersion({
      default: 'TLSv1.2',
      description: 'lowest TLS version accepted: TLSv1.2 | TLSv1.3',
    }),
    'tls-max-version': tlsVersion({ default: 'TLSv1.3', description: 'highest TLS version accepted' }),
    'tls-cipher-suites': list({
      description: 'TLS 1.2 cipher suites, comma-separated OpenSSL names',
      defaultText: "Node's",
    }),
  };
}

export type ServerTlsFlagValues = FlagValues<ReturnType<typeof serverTlsFlags>>;

/** The server's TLS, or undefined (plain text) without a certificate. */
export function serverTlsConfig(v: ServerTlsFlagValues): ServerTlsConfig | undefined {
  if ((v.tlsCert === undefined) !== (v.tlsKey === undefined))
    throw new UsageError('--tls-cert and --tls-key go together');
  if (v.tlsCert === undefined || v.tlsKey === undefined) {
    if (v.tlsClientCa !== undefined) throw new UsageError('--tls-client-ca needs --tls-cert and --tls-key');
    return undefined;
  }
  let policy: TlsPolicy;
  try {
    policy = tlsPolicy(
      { minVersion: v.tlsMinVersion, maxVersion: v.tlsMaxVersion, cipherSuites: v.tlsCipherSuites },
      '--tls',
    );
  } catch (err) {
    throw new UsageError((err as Error).message, { cause: err });
  }
  return {
    certFile: v.tlsCert,
    keyFile: v.tlsKey,
    ...(v.tlsClientCa !== undefined ? { clientCaFile: v.tlsClientCa } : {}),
    policy,
  };
}

/** --xds-tls-ca, --xds-tls-cert, --xds-tls-key: dialling the xDS server over (mutual) TLS. */
export function xdsTlsFlags() {
  return {
    'xds-tls-ca': text({
      value: 'FILE',
      description: 'dial --xds over TLS, trusting this CA bundle (reloaded for new connections)',
    }),
    'xds-tls-cert': text({
      value: 'FILE',
      description: 'client certificate for --xds (mutual TLS; reloaded for new connections)',
    }),
    'xds-tls-key': text({ value: 'FILE', description: 'the private key of --xds-tls-cert' }),
  };
}

export type XdsTlsFlagValues = FlagValues<ReturnType<typeof xdsTlsFlags>>;

/** TLS to the xDS server, or undefined (plain text) without a CA. */
export function xdsTlsConfig(v: XdsTlsFlagValues): ClientTlsConfig | undefined {
  if ((v.xdsTlsCert === undefined) !== (v.xdsTlsKey === undefined))
    throw new UsageError('--xds-tls-cert and --xds-tls-key go together');
  if (v.xdsTlsCa === undefined) {
    if (v.xdsTlsCert !== undefined)
      throw new UsageError('--xds-tls-cert needs --xds-tls-ca (the server is verified whenever TLS is used)');
    return undefined;
  }
  return {
    caFile: v.xdsTlsCa,
    ...(v.xdsTlsCert !== undefined && v.xdsTlsKey !== undefined
      ? { certFile: v.xdsTlsCert, keyFile: v.xdsTlsKey }
      : {}),
  };
}
