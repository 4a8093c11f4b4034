// What the --tls-* and --xds-tls-* flags configure (lib/cli/tls.ts declares and checks them), turned
// into watchers ready to serve: a server with a certificate and key (and a client CA for mutual TLS),
// a client with a CA bundle (and a certificate for mutual TLS).
import type { Logger } from '../log.ts';
import type { ClientTlsOptions } from './client.ts';
import type { TlsPolicy } from './policy.ts';
import type { ClientAuth } from './server.ts';
import { TlsFileWatcher, type MaterialSource } from './watcher.ts';

/** What the --tls-* flags give (lib/cli/tls.ts parses them). */
export interface ServerTlsConfig {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this bundle (mutual TLS). */
  clientCaFile?: string;
  policy: TlsPolicy;
}

/** What the --xds-tls-* flags give. */
export interface ClientTlsConfig {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

export interface ServerTls {
  /** Files (TlsFileWatcher) or material issued in process (the operator's own certificate). */
  watcher: MaterialSource & { close(): void };
  policy: TlsPolicy;
  clientAuth: ClientAuth;
}

/** Loads the server's files (throwing when unusable) and watches them. */
export function startServerTls(config: ServerTlsConfig, log: Logger, purpose: string): ServerTls {
  const watcher = new TlsFileWatcher({
    files: { certFile: config.certFile, keyFile: config.keyFile, caFile: config.clientCaFile },
    log,
    purpose,
  });
  watcher.start();
  return { watcher, policy: config.policy, clientAuth: config.clientCaFile !== undefined ? 'required' : 'none' };
}

/** Loads the client's files (throwing when unusable), watches them, and gives options for its connections. */
export function startClientTls(
  config: ClientTlsConfig,
  log: Logger,
  purpose: string,
): { watcher: TlsFileWatcher; options: ClientTlsOptions } {
  const watcher = new TlsFileWatcher({
    files: { caFile: config.caFile, certFile: config.certFile, keyFile: config.keyFile },
    log,
    purpose,
  });
  watcher.start();
  return { watcher, options: { source: watcher } };
}
