// The --tls-* and --xds-tls-* flags every command shares, checked and turned into watchers ready to
// serve: a server with --tls-cert/--tls-key (and --tls-client-ca for mutual TLS), a client with a CA
// bundle (and a certificate for mutual TLS).
import { UsageError } from '../errors.ts';
import type { Logger } from '../log.ts';
import type { ClientTlsOptions } from './client.ts';
import { tlsPolicy, type TlsPolicy } from './policy.ts';
import type { ClientAuth } from './server.ts';
import { TlsFileWatcher, type MaterialSource } from './watcher.ts';

type Flags = Readonly<Record<string, string | boolean | undefined>>;

export interface ServerTlsConfig {
  certFile: string;
  keyFile: string;
  /** Client certificates must chain to this bundle (mutual TLS). */
  clientCaFile?: string;
  policy: TlsPolicy;
}

export interface ClientTlsConfig {
  caFile: string;
  certFile?: string;
  keyFile?: string;
}

function flag(command: string, flags: Flags, name: string): string | undefined {
  const v = flags[name];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || v.trim() === '') throw new UsageError(`gatehouse ${command}: --${name} needs a value`);
  return v;
}

/**
 * --tls-cert FILE --tls-key FILE [--tls-client-ca FILE] [--tls-min-version V] [--tls-max-version V]
 * [--tls-cipher-suites A,B]; undefined (plain text) when no certificate is given.
 */
export function serverTlsFromFlags(command: string, flags: Flags): ServerTlsConfig | undefined {
  const certFile = flag(command, flags, 'tls-cert');
  const keyFile = flag(command, flags, 'tls-key');
  const clientCaFile = flag(command, flags, 'tls-client-ca');
  const suites = flag(command, flags, 'tls-cipher-suites');
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError(`gatehouse ${command}: --tls-cert and --tls-key go together`);
  if (certFile === undefined) {
    if (clientCaFile !== undefined)
      throw new UsageError(`gatehouse ${command}: --tls-client-ca needs --tls-cert and --tls-key`);
    return undefined;
  }
  let policy: TlsPolicy;
  try {
    policy = tlsPolicy(
      {
        minVersion: flag(command, flags, 'tls-min-version'),
        maxVersion: flag(command, flags, 'tls-max-version'),
        cipherSuites: suites
          ?.split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      },
      `gatehouse ${command}: --tls`,
    );
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  return { certFile, keyFile: keyFile!, ...(clientCaFile !== undefined ? { clientCaFile } : {}), policy };
}

/** --PREFIX-ca FILE [--PREFIX-cert FILE --PREFIX-key FILE]; undefined (plain text) when none is given. */
export function clientTlsFromFlags(command: string, flags: Flags, prefix: string): ClientTlsConfig | undefined {
  const caFile = flag(command, flags, `${prefix}-ca`);
  const certFile = flag(command, flags, `${prefix}-cert`);
  const keyFile = flag(command, flags, `${prefix}-key`);
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError(`gatehouse ${command}: --${prefix}-cert and --${prefix}-key go together`);
  if (caFile === undefined) {
    if (certFile !== undefined)
      throw new UsageError(
        `gatehouse ${command}: --${prefix}-cert needs --${prefix}-ca (the server is verified whenever TLS is used)`,
      );
    return undefined;
  }
  return { caFile, ...(certFile !== undefined ? { certFile, keyFile } : {}) };
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
