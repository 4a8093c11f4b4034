// The SDS secrets the Envoy resources ask the ADS server for, as data. Every SdsSecretConfig over ADS
// is made here from the IR's Secret reference and recorded at once, so compile hands the xDS server
// (xds/sds.ts) the list of secrets to serve, each with the Secret it comes from and what it holds,
// and nothing has to read them back out of the JSON.
import type { SdsSecretConfig } from '../../../../protos/gen/json/envoy.extensions.transport_sockets.tls.v3.ts';
import type { IrSecretRef } from '../ir.ts';
import { sdsCaName, sdsCertificateName } from '../../api/names.ts';
import { adsConfigSource } from './names.ts';

/** An SDS secret the compiled listeners and clusters name, to be served over ADS. */
export interface SdsSecretRef {
  /** The SDS resource name the SdsSecretConfig carries: `tls:<namespace>/<secret>` or `ca:<namespace>/<secret>`. */
  name: string;
  /** The Kubernetes Secret that holds the material. */
  namespace: string;
  secret: string;
  /** certificate: its tls.crt chain and tls.key (a TlsCertificate); ca: its ca.crt bundle (a validation context). */
  holds: 'certificate' | 'ca';
}

const names: Record<SdsSecretRef['holds'], (secret: string) => string> = {
  certificate: sdsCertificateName,
  ca: sdsCaName,
};

/** Collects the SDS secrets asked for while the Envoy resources are emitted. */
export class SdsSecretRefs {
  private readonly refs = new Map<string, SdsSecretRef>();

  /** The SdsSecretConfig (over ADS) for what `secret` holds, recorded as a secret to serve. */
  config(secret: IrSecretRef, holds: SdsSecretRef['holds']): SdsSecretConfig {
    const name = names[holds](`${secret.namespace}/${secret.name}`);
    this.refs.set(name, { name, namespace: secret.namespace, secret: secret.name, holds });
    return { name, sds_config: adsConfigSource };
  }

  /** Every secret recorded, once, sorted by name. */
  list(): SdsSecretRef[] {
    return [...this.refs.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
