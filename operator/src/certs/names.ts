// Every name, label, annotation and identity of the certificates Gatehouse issues, in one place.
// The DataPlane pods' Secrets come from ../controllers/dataplane/names.ts (they mount them).
import {
  caBundleSecretName,
  extprocServiceHost,
  labelKeys,
  managedByValue,
  managedSelector,
  tlsSecretName,
  workloadName,
  type Component,
} from '../controllers/dataplane/names.ts';

export { caBundleSecretName, tlsSecretName };

/** Label on every Secret this module writes; with managed-by it is what the Secret informer selects. */
export const certificateLabel = 'gatehouse.dev/certificate';
/** ca | bundle | leaf: what a Secret holds. */
export const roleLabel = 'gatehouse.dev/certificate-role';
export type SecretRole = 'ca' | 'bundle' | 'leaf';
export const certificateSelector = `${managedSelector},${certificateLabel}=true`;
export { labelKeys, managedByValue };

/** The operator's CA (operator namespace): signs the xDS server and every DataPlane without caSecretName. */
export const operatorCaSecretName = 'gatehouse-ca';
/** The xDS server's certificate (tls.crt, tls.key) and the CAs it accepts clients from (ca.crt). */
export const xdsTlsSecretName = 'gatehouse-xds-tls';
export const defaultXdsServiceName = 'gatehouse-xds';

/**
 * The serving certificate of an HTTPS listener with `tls.issue: true`. "-listener-" keeps it apart
 * from the component Secrets: a listener may well be called "envoy" or "extproc".
 */
export const listenerTlsSecretName = (dataPlane: string, listener: string) => `${dataPlane}-listener-${listener}-tls`;

/** Data keys. */
export const keys = {
  tlsCert: 'tls.crt',
  tlsKey: 'tls.key',
  caCert: 'ca.crt',
  caKey: 'ca.key',
  /** The operator CA during a rotation: the new CA before it signs (step 1). */
  nextCert: 'next.crt',
  nextKey: 'next.key',
  /** The operator CA during a rotation: the old CA, still trusted, no longer signing (steps 2-3). */
  previousCert: 'previous.crt',
} as const;

export const annotations = {
  /** Leaf: when we issued it (our clock); the propagation delay runs from here. */
  issuedAt: 'gatehouse.dev/issued-at',
  /** Leaf: Issued | Renewed | Reissued | Expired | Invalid, and why, for status and humans. */
  issueReason: 'gatehouse.dev/issue-reason',
  issueMessage: 'gatehouse.dev/issue-message',
  /** Leaf: when it will be renewed (informational). */
  renewAt: 'gatehouse.dev/renew-at',
  /** Bundle (and the xDS Secret's ca.crt): when its set of CAs last changed. */
  trustChangedAt: 'gatehouse.dev/trust-changed-at',
  /** Bundle: fingerprints of the user CAs (caSecretName) it carries, so an old one is known when it leaves. */
  userCas: 'gatehouse.dev/user-cas',
  /** Operator CA: Stable | Adding | Reissuing (derived from the data keys; shown for humans). */
  caPhase: 'gatehouse.dev/ca-rotation-phase',
  /** Operator CA: when it entered that phase (informational). */
  caPhaseSince: 'gatehouse.dev/ca-rotation-phase-since',
  /** Operator CA: set it (any new value) to ask for a rotation; `rotatedFor` records the value served. */
  rotate: 'gatehouse.dev/rotate',
  rotatedFor: 'gatehouse.dev/rotated-for',
  /** DataPlane: extra SANs for issued listener certificates, comma or space separated DNS names and IPs. */
  certificateSans: 'gatehouse.dev/certificate-sans',
} as const;

/** SPIFFE-style identity of a data-plane component: the xDS node.cluster `<ns>/<dp>/<component>` as a URI SAN. */
export const trustDomain = 'gatehouse';
export const componentIdentity = (namespace: string, dataPlane: string, component: Component) =>
  `spiffe://${trustDomain}/ns/${namespace}/dataplane/${dataPlane}/${component}`;
export const operatorIdentity = (namespace: string) => `spiffe://${trustDomain}/ns/${namespace}/operator`;

/** The DataPlane and component of a client certificate's URI SAN, or undefined (for the xDS server's check against node.cluster). */
export function parseComponentIdentity(
  uri: string,
): { namespace: string; dataPlane: string; component: Component } | undefined {
  const m = /^spiffe:\/\/([^/]+)\/ns\/([^/]+)\/dataplane\/([^/]+)\/(envoy|extproc)$/.exec(uri);
  if (!m || m[1] !== trustDomain) return undefined;
  return { namespace: m[2]!, dataPlane: m[3]!, component: m[4] as Component };
}

export { extprocServiceHost, workloadName };
