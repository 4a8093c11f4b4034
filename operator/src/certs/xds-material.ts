// TLS material the certificates controller issues, read from the Secret informer on every replica:
// the xDS server's certificate (gatehouse-xds-tls, with the CAs it accepts clients from) and the
// admission webhook's (gatehouse-webhook-tls). No volume mount, so a fresh install does not wait for
// kubelet to sync a Secret the operator itself creates; a renewal reaches new handshakes while open
// connections carry on.
import type { Logger } from '../../../lib/log.ts';
import { validateMaterial, type TlsMaterial } from '../../../lib/tls/material.ts';
import type { MaterialSource } from '../../../lib/tls/watcher.ts';
import { webhookTlsSecretName, xdsTlsSecretName } from '../api/names.ts';

export interface IssuedPem {
  certPem: string;
  keyPem: string;
  /** CAs client certificates must chain to (none: no client certificates are verified). */
  caPem?: string;
  resourceVersion?: string;
}

export interface IssuedTlsReader {
  read(): IssuedPem | undefined;
  subscribe(handler: () => void): () => void;
}

/** Material of one issued Secret as a MaterialSource for lib/tls servers. */
export class IssuedTls implements MaterialSource {
  private reader: IssuedTlsReader | undefined;
  private material: TlsMaterial | undefined;
  private version: string | undefined;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;
  private readonly secret: string;
  private readonly purpose: string;

  constructor(log: Logger, secret: string, purpose: string) {
    this.log = log;
    this.secret = secret;
    this.purpose = purpose;
  }

  /** Until attached (and issued), handshakes fail: the server has no certificate to present. */
  attachReader(reader: IssuedTlsReader): void {
    this.reader = reader;
    this.unsubscribe = reader.subscribe(() => this.refresh());
    this.refresh();
  }

  current(): TlsMaterial | undefined {
    return this.material;
  }

  onChange(listener: (material: TlsMaterial) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  close(): void {
    this.unsubscribe?.();
  }

  private refresh(): void {
    const issued = this.reader?.read();
    // Without a resourceVersion (not yet stored), the content tells the versions apart.
    const version = issued?.resourceVersion ?? (issued && `${issued.certPem.length}:${issued.certPem.slice(-64)}`);
    if (!issued || version === this.version) return;
    try {
      this.material = validateMaterial(
        {
          cert: Buffer.from(issued.certPem),
          key: Buffer.from(issued.keyPem),
          ...(issued.caPem !== undefined ? { ca: Buffer.from(issued.caPem) } : {}),
        },
        {
          cert: `Secret ${this.secret} tls.crt`,
          key: `Secret ${this.secret} tls.key`,
          ca: `Secret ${this.secret} ca.crt`,
        },
      );
    } catch (err) {
      this.log.error(
        { err: (err as Error).message, secret: this.secret },
        `the issued ${this.purpose} certificate is unusable; keeping the previous one`,
      );
      return;
    }
    this.version = version;
    this.log.info({ leaf: this.material.leaf, secret: this.secret }, `${this.purpose} certificate loaded`);
    for (const listener of this.listeners) listener(this.material);
  }
}

export interface IssuedXdsTlsProvider {
  xdsTls(): { certPem: string; keyPem: string; caPem: string; resourceVersion?: string } | undefined;
  onXdsTlsChange(handler: () => void): () => void;
}

/** The xDS server's certificate and client CAs (gatehouse-xds-tls). */
export class IssuedXdsTls extends IssuedTls {
  constructor(log: Logger) {
    super(log, xdsTlsSecretName, 'xDS server');
  }

  attach(provider: IssuedXdsTlsProvider): void {
    this.attachReader({ read: () => provider.xdsTls(), subscribe: (h) => provider.onXdsTlsChange(h) });
  }
}

export interface IssuedWebhookTlsProvider {
  webhookTls(): IssuedPem | undefined;
  onWebhookTlsChange(handler: () => void): () => void;
}

/** The admission webhook's serving certificate (gatehouse-webhook-tls). */
export class IssuedWebhookTls extends IssuedTls {
  constructor(log: Logger) {
    super(log, webhookTlsSecretName, 'admission webhook');
  }

  attach(provider: IssuedWebhookTlsProvider): void {
    this.attachReader({ read: () => provider.webhookTls(), subscribe: (h) => provider.onWebhookTlsChange(h) });
  }
}
