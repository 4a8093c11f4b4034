// Turns planned steps into the Secrets to apply: signs leaves, generates CAs, assembles bundles. The
// only part besides the controller that is not pure (key generation and signing are).
import type { OperatorCa } from './authorities.ts';
import { bundlePem } from './authorities.ts';
import type { LeafSpec } from './leaves.ts';
import { createCa, issueCertificate, parseCertificates, type CertInfo, type PemPair, type Signer } from './pki.ts';
import {
  leafRenewAt,
  type BundlePlan,
  type CaStep,
  type IssueStep,
  type PlannerOptions,
  type XdsPlan,
} from './planner.ts';
import { annotationTime, timestamp, type DesiredSecret, type SecretView } from './secrets.ts';
import {
  certificateAnnotations,
  operatorCaSecretName,
  secretKeys,
  webhookTlsSecretName,
  xdsTlsSecretName,
} from '../api/names.ts';

/** Annotation values are for humans and status: bounded, single line. */
const maxMessage = 512;
const oneLine = (s: string) => s.replace(/\s+/g, ' ').slice(0, maxMessage);

export interface IssuedLeaf {
  pem: PemPair;
  cert: CertInfo;
  annotations: Record<string, string>;
}

/** Signs a leaf for `spec`: notBefore backdated, notAfter capped by the signer's own expiry. */
export async function signLeaf(
  spec: LeafSpec,
  step: Pick<IssueStep, 'reason' | 'message'>,
  signer: Signer,
  now: Date,
  options: Pick<PlannerOptions, 'backdateMs'>,
  durationMs: number,
  renewBeforeMs?: number,
): Promise<IssuedLeaf> {
  const notAfter = new Date(Math.min(now.getTime() + durationMs, signer.cert.notAfter.getTime()));
  const pem = await issueCertificate(signer, {
    commonName: spec.commonName,
    dns: spec.dns,
    ips: spec.ips,
    uris: spec.uris,
    usages: spec.usages,
    notBefore: new Date(now.getTime() - options.backdateMs),
    notAfter,
  });
  const cert = parseCertificates(pem.certPem)[0]!;
  return {
    pem,
    cert,
    annotations: {
      [certificateAnnotations.issuedAt]: timestamp(now),
      [certificateAnnotations.issueReason]: step.reason,
      [certificateAnnotations.issueMessage]: oneLine(step.message),
      [certificateAnnotations.renewAt]: timestamp(leafRenewAt(cert, now, durationMs, renewBeforeMs)),
    },
  };
}

export function leafSecret(
  spec: LeafSpec,
  issued: IssuedLeaf,
  dataPlane: { name: string; uid: string },
): DesiredSecret {
  return {
    namespace: spec.namespace,
    name: spec.secretName,
    role: 'leaf',
    type: 'kubernetes.io/tls',
    dataPlane,
    ...(spec.role === 'listener' ? { sds: true } : {}),
    annotations: issued.annotations,
    data: { [secretKeys.tlsCert]: issued.pem.certPem, [secretKeys.tlsKey]: issued.pem.keyPem },
  };
}

export function bundleSecret(
  namespace: string,
  plan: BundlePlan,
  dataPlane: { name: string; uid: string },
): DesiredSecret {
  return {
    namespace,
    name: plan.name,
    role: 'bundle',
    type: 'Opaque',
    dataPlane,
    annotations: {
      [certificateAnnotations.trustChangedAt]: timestamp(plan.changedAt),
      [certificateAnnotations.userCas]: plan.userCas.join(','),
    },
    data: { [secretKeys.caCert]: bundlePem(plan.certs) },
  };
}

/**
 * The xDS server's Secret: its serving certificate (the live one unless `issued`) and the CAs it
 * accepts clients from. Undefined when there is no certificate to keep and none issued.
 */
export function xdsSecret(
  namespace: string,
  plan: XdsPlan,
  live: SecretView | undefined,
  issued: IssuedLeaf | undefined,
  now: Date,
): DesiredSecret | undefined {
  const certPem = issued?.pem.certPem ?? live?.data[secretKeys.tlsCert];
  const keyPem = issued?.pem.keyPem ?? live?.data[secretKeys.tlsKey];
  if (!certPem || !keyPem) return undefined;
  const leafAnnotations =
    issued?.annotations ??
    Object.fromEntries(
      [
        certificateAnnotations.issuedAt,
        certificateAnnotations.issueReason,
        certificateAnnotations.issueMessage,
        certificateAnnotations.renewAt,
      ]
        .filter((k) => live?.annotations[k] !== undefined)
        .map((k) => [k, live!.annotations[k]!]),
    );
  const changedAt = plan.trustChanged ? now : (annotationTime(live, certificateAnnotations.trustChangedAt) ?? now);
  return {
    namespace,
    name: xdsTlsSecretName,
    role: 'leaf',
    type: 'kubernetes.io/tls',
    annotations: { ...leafAnnotations, [certificateAnnotations.trustChangedAt]: timestamp(changedAt) },
    data: { [secretKeys.tlsCert]: certPem, [secretKeys.tlsKey]: keyPem, [secretKeys.caCert]: bundlePem(plan.trust) },
  };
}

/** The admission webhook's Secret: its serving certificate only (the apiserver holds the trust, in caBundle). */
export function webhookSecret(namespace: string, issued: IssuedLeaf): DesiredSecret {
  return {
    namespace,
    name: webhookTlsSecretName,
    role: 'leaf',
    type: 'kubernetes.io/tls',
    annotations: issued.annotations,
    data: { [secretKeys.tlsCert]: issued.pem.certPem, [secretKeys.tlsKey]: issued.pem.keyPem },
  };
}

function caName(namespace: string, now: Date): string {
  return `Gatehouse CA ${namespace} ${now.toISOString().slice(0, 19).replace(/[-:T]/g, '')}`;
}

/** The operator CA Secret after a step of its life: created, rotation started, new CA promoted, old CA dropped. */
export async function caSecret(
  namespace: string,
  step: CaStep,
  ca: OperatorCa,
  now: Date,
  options: Pick<PlannerOptions, 'backdateMs' | 'caDurationMs'>,
): Promise<DesiredSecret> {
  const fresh = () =>
    createCa({
      commonName: caName(namespace, now),
      notBefore: new Date(now.getTime() - options.backdateMs),
      notAfter: new Date(now.getTime() + options.caDurationMs),
    });
  // Always sent back: omitting it would let server-side apply drop it, and an old request would then start a rotation.
  const live = ca.secret?.annotations ?? {};
  const rotatedFor =
    step.step === 'startRotation' && step.request !== undefined
      ? step.request
      : step.step === 'create'
        ? (live[certificateAnnotations.rotate] ?? live[certificateAnnotations.rotatedFor])
        : live[certificateAnnotations.rotatedFor];
  const secret = (phase: string, data: Record<string, string>): DesiredSecret => ({
    namespace,
    name: operatorCaSecretName,
    role: 'ca',
    type: 'Opaque',
    annotations: {
      [certificateAnnotations.caPhase]: phase,
      [certificateAnnotations.caPhaseSince]: timestamp(now),
      ...(rotatedFor !== undefined ? { [certificateAnnotations.rotatedFor]: rotatedFor } : {}),
    },
    data,
  });
  const signing = ca.signing;
  switch (step.step) {
    case 'create': {
      const pem = await fresh();
      return secret('Stable', { [secretKeys.caCert]: pem.certPem, [secretKeys.caKey]: pem.keyPem });
    }
    case 'startRotation': {
      const next = await fresh();
      return secret('Adding', {
        [secretKeys.caCert]: signing!.cert.pem,
        [secretKeys.caKey]: ca.secret!.data[secretKeys.caKey]!,
        [secretKeys.nextCert]: next.certPem,
        [secretKeys.nextKey]: next.keyPem,
      });
    }
    case 'promote':
      return secret('Reissuing', {
        [secretKeys.caCert]: ca.next!.cert.pem,
        [secretKeys.caKey]: ca.secret!.data[secretKeys.nextKey]!,
        [secretKeys.previousCert]: signing!.cert.pem,
      });
    case 'finish':
      return secret('Stable', {
        [secretKeys.caCert]: signing!.cert.pem,
        [secretKeys.caKey]: ca.secret!.data[secretKeys.caKey]!,
      });
  }
}

/** "A, B" of certificates by their labels, for events. */
export function certList(certs: readonly CertInfo[]): string {
  return certs.map((c) => `${c.commonName || c.subject} (sha256 ${c.fingerprint.slice(0, 12)})`).join(', ');
}
