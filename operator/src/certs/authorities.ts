// The CAs as the planner sees them: the operator's own (Secret gatehouse-ca, with its rotation phase
// read from the data keys it holds) and a DataPlane's user CA (spec.certificates.caSecretName), plus
// trust bundles as sets of certificates. Pure.
import { certificateLabel as describeCert, loadSigner, parseCertificates, type CertInfo, type Signer } from './pki.ts';
import type { SecretView } from './secrets.ts';
import { certificateAnnotations, operatorCaSecretName, secretKeys } from '../api/names.ts';

/**
 * Stable: one CA signs and is trusted. Adding (step 1): a new CA (`next.*`) is trusted but does not
 * sign yet. Reissuing (steps 2 and 3): the new CA signs; the old one (`previous.crt`, no key) is still
 * trusted until every leaf is re-issued.
 */
export type CaPhase = 'Stable' | 'Adding' | 'Reissuing';

export interface OperatorCa {
  /** missing: no Secret; invalid: it cannot sign (why in `problem`). */
  status: 'ok' | 'missing' | 'invalid';
  problem?: string;
  phase: CaPhase;
  signing?: Signer;
  next?: Signer;
  previous?: CertInfo;
  /** What every bundle carries for the operator: signing, next and previous. */
  trust: CertInfo[];
  /** When the signing CA reaches 2/3 of its life: a rotation starts. */
  renewAt?: Date;
  /** The value of the gatehouse.dev/rotate annotation when it asks for a rotation not yet started. */
  rotationRequest?: string;
  secret?: SecretView;
}

export interface UserCa {
  name: string;
  status: 'ok' | 'missing' | 'invalid';
  problem?: string;
  signer?: Signer;
  /** The roots leaves signed by this CA chain to: the CA itself when self-signed, else its ca.crt. */
  anchors: CertInfo[];
}

/** The fraction of a certificate's life after which it is replaced (docs/architecture.md#the-operator: renewal at 2/3). */
export const renewFraction = 2 / 3;

export function renewalTime(cert: { notBefore: Date; notAfter: Date }): Date {
  const from = cert.notBefore.getTime();
  return new Date(from + (cert.notAfter.getTime() - from) * renewFraction);
}

function validityProblem(cert: CertInfo, now: Date, what: string): string | undefined {
  if (cert.notAfter.getTime() <= now.getTime())
    return `${what} ${describeCert(cert)} expired at ${cert.notAfter.toISOString()}`;
  if (cert.notBefore.getTime() > now.getTime())
    return `${what} ${describeCert(cert)} is not valid before ${cert.notBefore.toISOString()}`;
  return undefined;
}

function trySigner(certPem: string | undefined, keyPem: string | undefined): Signer | string {
  if (!certPem || !keyPem) return 'no certificate or no key';
  try {
    return loadSigner(certPem, keyPem);
  } catch (err) {
    return (err as Error).message;
  }
}

function tryCerts(pem: string | undefined): CertInfo[] {
  if (!pem) return [];
  try {
    return parseCertificates(pem);
  } catch {
    return [];
  }
}

export function readOperatorCa(secret: SecretView | undefined, now: Date): OperatorCa {
  const base = { phase: 'Stable' as const, trust: [] as CertInfo[], secret };
  if (!secret) return { ...base, status: 'missing', problem: `Secret ${operatorCaSecretName} does not exist` };
  const signing = trySigner(secret.data[secretKeys.caCert], secret.data[secretKeys.caKey]);
  if (typeof signing === 'string')
    return { ...base, status: 'invalid', problem: `Secret ${secret.namespace}/${secret.name}: ${signing}` };
  const expired = validityProblem(signing.cert, now, 'the CA');
  if (expired) return { ...base, status: 'invalid', problem: `Secret ${secret.namespace}/${secret.name}: ${expired}` };
  // A next or previous that does not read is ignored (and dropped on the next write): the phase is what the data supports.
  const nextSigner = secret.data[secretKeys.nextCert]
    ? trySigner(secret.data[secretKeys.nextCert], secret.data[secretKeys.nextKey])
    : undefined;
  const next = typeof nextSigner === 'object' && !validityProblem(nextSigner.cert, now, '') ? nextSigner : undefined;
  const previous = next ? undefined : tryCerts(secret.data[secretKeys.previousCert])[0];
  const usablePrevious =
    previous && previous.fingerprint !== signing.cert.fingerprint && previous.notAfter.getTime() > now.getTime()
      ? previous
      : undefined;
  const phase: CaPhase = next ? 'Adding' : usablePrevious ? 'Reissuing' : 'Stable';
  const request = secret.annotations[certificateAnnotations.rotate];
  return {
    status: 'ok',
    phase,
    secret,
    signing: signing,
    next,
    previous: usablePrevious,
    trust: [signing.cert, ...(next ? [next.cert] : []), ...(usablePrevious ? [usablePrevious] : [])],
    renewAt: renewalTime(signing.cert),
    rotationRequest: request && request !== secret.annotations[certificateAnnotations.rotatedFor] ? request : undefined,
  };
}

/**
 * A user's CA Secret (for example one cert-manager maintains): tls.crt + tls.key, or ca.crt + ca.key.
 * tls.crt may carry intermediates after the CA; when the CA is not self-signed, its ca.crt holds the
 * root that bundles must carry.
 */
export function readUserCa(secret: SecretView | undefined, name: string, now: Date): UserCa {
  if (!secret)
    return {
      name,
      status: 'missing',
      problem: `Secret ${name} (spec.certificates.caSecretName) does not exist`,
      anchors: [],
    };
  const useTls = secret.data[secretKeys.tlsCert] !== undefined && secret.data[secretKeys.tlsKey] !== undefined;
  const signer = useTls
    ? trySigner(secret.data[secretKeys.tlsCert], secret.data[secretKeys.tlsKey])
    : trySigner(secret.data[secretKeys.caCert], secret.data[secretKeys.caKey]);
  if (typeof signer === 'string') {
    return {
      name,
      status: 'invalid',
      problem: `Secret ${name} (spec.certificates.caSecretName) has no usable CA in tls.crt/tls.key or ca.crt/ca.key: ${signer}`,
      anchors: [],
    };
  }
  const expired = validityProblem(signer.cert, now, 'the CA');
  if (expired)
    return {
      name,
      status: 'invalid',
      problem: `Secret ${name} (spec.certificates.caSecretName): ${expired}`,
      anchors: [],
    };
  const roots = useTls ? tryCerts(secret.data[secretKeys.caCert]).filter((c) => c.isCa) : [];
  const anchors = signer.cert.selfSigned || roots.length === 0 ? [signer.cert] : roots;
  return { name, status: 'ok', signer, anchors };
}

// ---------------------------------------------------------------- sets of certificates

export const fingerprints = (certs: readonly CertInfo[]) => certs.map((c) => c.fingerprint);

/** Unique by fingerprint, sorted by fingerprint: a bundle's content does not depend on the order CAs came in. */
export function certSet(certs: readonly CertInfo[]): CertInfo[] {
  const byFp = new Map(certs.map((c) => [c.fingerprint, c]));
  return [...byFp.values()].sort((a, b) => (a.fingerprint < b.fingerprint ? -1 : 1));
}

export function sameSet(a: readonly CertInfo[], b: readonly CertInfo[]): boolean {
  const x = new Set(fingerprints(a));
  const y = new Set(fingerprints(b));
  return x.size === y.size && [...x].every((fp) => y.has(fp));
}

export function containsAll(set: readonly CertInfo[], wanted: readonly CertInfo[]): boolean {
  const have = new Set(fingerprints(set));
  return wanted.every((c) => have.has(c.fingerprint));
}

/** The certificates of a bundle's ca.crt; empty when absent or unreadable (then it is rewritten). */
export function bundleCerts(view: SecretView | undefined): CertInfo[] {
  return tryCerts(view?.data[secretKeys.caCert]);
}

export function bundlePem(certs: readonly CertInfo[]): string {
  return certSet(certs)
    .map((c) => c.pem)
    .join('');
}
