// The xDS server's TLS material in a cluster: the certificate the certificates controller issues into
// gatehouse-xds-tls (with the CAs it accepts clients from), read from the Secret informer on every
// replica. No volume mount, so a fresh install does not wait for kubelet to sync a Secret the
// operator itself creates; a renewal reaches new handshakes while open ADS streams carry on.
import type { Logger } from '../../../lib/log.ts';
import { validateMaterial, type TlsMaterial } from '../../../lib/tls/material.ts';
import type { MaterialSource } from '../../../lib/tls/watcher.ts';

export interface IssuedXdsTlsProvider {
  xdsTls(): { certPem: string; keyPem: string; caPem: string; resourceVersion?: string } | undefined;
  onXdsTlsChange(handler: () => void): () => void;
}

export class IssuedXdsTls implements MaterialSource {
  private provider: IssuedXdsTlsProvider | undefined;
  private material: TlsMaterial | undefined;
  private version: string | undefined;
  private readonly listeners = new Set<(m: TlsMaterial) => void>();
  private unsubscribe: (() => void) | undefined;
  private readonly log: Logger;

  constructor(log: Logger) {
    this.log = log;
  }

  /** Until attached (and issued), handshakes fail: the server has no certificate to present. */
  attach(provider: IssuedXdsTlsProvider): void {
    this.provider = provider;
    this.unsubscribe = provider.onXdsTlsChange(() => this.refresh());
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
    const issued = this.provider?.xdsTls();
    // Without a resourceVersion (not yet stored), the content tells the versions apart.
    const version = issued?.resourceVersion ?? (issued && `${issued.certPem.length}:${issued.certPem.slice(-64)}`);
    if (!issued || version === this.version) return;
    try {
      this.material = validateMaterial(
        { cert: Buffer.from(issued.certPem), key: Buffer.from(issued.keyPem), ca: Buffer.from(issued.caPem) },
        {
          cert: 'Secret gatehouse-xds-tls tls.crt',
          key: 'Secret gatehouse-xds-tls tls.key',
          ca: 'Secret gatehouse-xds-tls ca.crt',
        },
      );
    } catch (err) {
      this.log.error(
        { err: (err as Error).message },
        'the issued xDS certificate is unusable; keeping the previous one',
      );
      return;
    }
    this.version = version;
    this.log.info({ leaf: this.material.leaf }, 'xDS server certificate loaded');
    for (const listener of this.listeners) listener(this.material);
  }
}
