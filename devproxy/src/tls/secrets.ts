// TLS material as Envoy's secret manager holds it: SDS secrets from ADS by name (a certificate with
// its key, or a trust bundle), and per listener or cluster a context source that puts together the
// certificate and the trust bundle its TLS context names, from ADS secrets, filesystem SDS files,
// certificate files or inline data. A source announces every change, so new handshakes use the new
// material while open connections keep theirs. As in Envoy, files named by an SDS secret are watched
// (renewals apply), files named directly in a transport socket are read once.
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { Logger } from '../../../lib/log.ts';
import { validateMaterial, type TlsMaterial } from '../../../lib/tls/material.ts';
import { loadTlsFiles, TlsFileWatcher, type MaterialSource } from '../../../lib/tls/watcher.ts';
import {
  certificateOf,
  trustedCaOf,
  type CertificateRef,
  type TlsContextConfig,
  type ValidationRef,
} from '../config/tls.ts';
import { ConfigRejectedError } from '../errors.ts';
import { envoyRoot, type Decoded } from '../xds/envoy-protos.ts';

export const secretTypeUrl = 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.Secret';

/** SDS secrets received over ADS, checked, by name. */
export class SecretStore {
  private readonly secrets = new Map<string, TlsMaterial>();
  private readonly listeners = new Set<(names: ReadonlySet<string>) => void>();

  get(name: string): TlsMaterial | undefined {
    return this.secrets.get(name);
  }

  /** Applies a batch (one SDS response) that has been checked whole. */
  setAll(batch: ReadonlyMap<string, TlsMaterial>): void {
    for (const [name, material] of batch) this.secrets.set(name, material);
    const names = new Set(batch.keys());
    for (const l of this.listeners) l(names);
  }

  onChange(listener: (names: ReadonlySet<string>) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}

/** The certificate or trust bundle of a decoded SDS Secret, checked (a bad one is NACKed, as Envoy does). */
export function materialOfSecret(s: Decoded): TlsMaterial {
  const name = String(s.name);
  const where = `secret ${name}`;
  const read = (file: string) => {
    try {
      return readFileSync(file);
    } catch (err) {
      throw new ConfigRejectedError(`${where}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  try {
    if (s.tls_certificate) {
      const ref = certificateOf(s.tls_certificate as Decoded, where);
      if (ref.kind === 'files')
        return validateMaterial(
          { cert: read(ref.certFile), key: read(ref.keyFile) },
          { cert: ref.certFile, key: ref.keyFile },
        );
      if (ref.kind === 'inline')
        return validateMaterial(
          { cert: Buffer.from(ref.cert), key: Buffer.from(ref.key) },
          { cert: `${where} certificate_chain`, key: `${where} private_key` },
        );
    }
    if (s.validation_context) {
      const ref = trustedCaOf(s.validation_context as Decoded, where);
      if (ref?.kind === 'file') return validateMaterial({ ca: read(ref.caFile) }, { ca: ref.caFile });
      if (ref?.kind === 'inline') return validateMaterial({ ca: Buffer.from(ref.ca) }, { ca: `${where} trusted_ca` });
    }
  } catch (err) {
    if (err instanceof ConfigRejectedError) throw err;
    throw new ConfigRejectedError(`${where}: ${(err as Error).message}`);
  }
  throw new ConfigRejectedError(
    `${where}: only tls_certificate and validation_context.trusted_ca secrets are supported by devproxy`,
  );
}

/** Filesystem SDS: the one Secret named `name` in the DiscoveryResponse file at `path` (JSON or YAML). */
function fileSdsSecret(name: string, path: string, where: string): Decoded {
  let doc: { resources?: Array<Record<string, unknown>> };
  try {
    doc = parseYaml(readFileSync(path, 'utf8')) as typeof doc;
  } catch (err) {
    throw new ConfigRejectedError(`${where}: cannot read SDS file ${path}: ${(err as Error).message}`);
  }
  const found = (doc?.resources ?? []).find((r) => r['@type'] === secretTypeUrl && r.name === name);
  if (!found) throw new ConfigRejectedError(`${where}: SDS file ${path} has no Secret ${name}`);
  const type = envoyRoot().lookupType('envoy.extensions.transport_sockets.tls.v3.Secret');
  const { '@type': _type, ...body } = found;
  return type.toObject(type.fromObject(body), {
    longs: String,
    enums: String,
    bytes: Buffer,
    defaults: true,
    arrays: true,
    objects: true,
    oneofs: true,
  });
}

type Part = { current: () => TlsMaterial | undefined; close: () => void };

/**
 * The material of one TLS context (a listener's or a cluster's): its certificate and its trust bundle,
 * wherever each comes from. Building it reads and checks files (a failure rejects the config); after
 * that, file changes and new SDS secrets are announced through onChange.
 */
export class ContextSource implements MaterialSource {
  private readonly parts: { certificate?: Part; validation?: Part } = {};
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private readonly unsubscribe: () => void;
  private merged: TlsMaterial | undefined;
  private readonly adsNames: Set<string>;

  constructor(config: TlsContextConfig, store: SecretStore, log: Logger, where: string) {
    this.adsNames = new Set(
      [config.certificate, config.validation].flatMap((r) => (r?.kind === 'ads' ? [r.name] : [])),
    );
    try {
      if (config.certificate) this.parts.certificate = this.part(config.certificate, store, log, where);
      if (config.validation) this.parts.validation = this.part(config.validation, store, log, where);
    } catch (err) {
      this.close();
      throw err;
    }
    this.unsubscribe = store.onChange((names) => {
      if ([...names].some((n) => this.adsNames.has(n))) this.changed();
    });
  }

  /** Every piece the context names has arrived (SDS secrets warm a listener or cluster until then). */
  ready(): boolean {
    return (
      (!this.parts.certificate || this.parts.certificate.current() !== undefined) &&
      (!this.parts.validation || this.parts.validation.current() !== undefined)
    );
  }

  current(): TlsMaterial | undefined {
    if (!this.ready()) return undefined;
    if (this.merged) return this.merged;
    const cert = this.parts.certificate?.current();
    const ca = this.parts.validation?.current();
    this.merged = {
      ...(cert?.cert ? { cert: cert.cert, key: cert.key, leaf: cert.leaf } : {}),
      ...(ca?.ca ? { ca: ca.ca } : {}),
      authorities: ca?.authorities ?? [],
    };
    return this.merged;
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe?.();
    this.parts.certificate?.close();
    this.parts.validation?.close();
    this.listeners.clear();
  }

  private changed(): void {
    this.merged = undefined;
    const material = this.current();
    if (!material) return;
    for (const l of this.listeners) l(material);
  }

  /** `viaSds`: the files were named by an SDS secret, so they are watched (Envoy reads inline file names once). */
  private part(
    ref: CertificateRef | ValidationRef,
    store: SecretStore,
    log: Logger,
    where: string,
    viaSds = false,
  ): Part {
    switch (ref.kind) {
      case 'ads':
        return { current: () => store.get(ref.name), close: () => undefined };
      case 'file-sds': {
        const secret = fileSdsSecret(ref.name, ref.path, where);
        const inner = secret.tls_certificate
          ? certificateOf(secret.tls_certificate as Decoded, where)
          : trustedCaOf((secret.validation_context ?? {}) as Decoded, where);
        if (!inner || inner.kind === 'ads' || inner.kind === 'file-sds')
          throw new ConfigRejectedError(
            `${where}: SDS file ${ref.path}: Secret ${ref.name} has no usable certificate or trusted_ca`,
          );
        return this.part(inner, store, log, where, true);
      }
      case 'files':
      case 'file': {
        const files = ref.kind === 'files' ? { certFile: ref.certFile, keyFile: ref.keyFile } : { caFile: ref.caFile };
        if (!viaSds) {
          let material: TlsMaterial;
          try {
            material = loadTlsFiles(files);
          } catch (err) {
            throw new ConfigRejectedError(`${where}: ${(err as Error).message}`);
          }
          return { current: () => material, close: () => undefined };
        }
        const watcher = new TlsFileWatcher({ files, log, purpose: where });
        try {
          watcher.start();
        } catch (err) {
          throw new ConfigRejectedError(`${where}: ${(err as Error).message}`);
        }
        watcher.onChange(() => this.changed());
        return { current: () => watcher.current(), close: () => watcher.close() };
      }
      case 'inline': {
        let material: TlsMaterial;
        try {
          material =
            ref.kind === 'inline' && 'cert' in ref
              ? validateMaterial(
                  { cert: Buffer.from(ref.cert), key: Buffer.from(ref.key) },
                  { cert: `${where} certificate_chain`, key: `${where} private_key` },
                )
              : validateMaterial({ ca: Buffer.from((ref as { ca: string }).ca) }, { ca: `${where} trusted_ca` });
        } catch (err) {
          throw new ConfigRejectedError(`${where}: ${(err as Error).message}`);
        }
        return { current: () => material, close: () => undefined };
      }
    }
  }
}
