// A DataPlane's CertificatesReady condition and status.certificates[], from the plan made after this
// reconcile's writes. Pure.
import type { CaPhase } from './authorities.ts';
import { describePhase, type DataPlanePlan } from './planner.ts';
import { annotationTime, timestamp } from './secrets.ts';
import { certificateAnnotations } from '../api/names.ts';

export const conditionType = 'CertificatesReady';

export interface CertificateEntry {
  name: string;
  notAfter: string;
}

export interface CertificatesCondition {
  type: typeof conditionType;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface StatusInput {
  now: Date;
  propagationDelayMs: number;
  plan: DataPlanePlan;
  /** The operator CA's phase (matters when the DataPlane's leaves are signed by it). */
  operatorPhase: CaPhase;
  /** The CA that signs the DataPlane's leaves, as status names it: `<caSecretName>` or `<operator ns>/gatehouse-ca`. */
  ca?: { name: string; notAfter: Date };
  /** The xDS server's certificate, which the DataPlane's pods verify: `<operator ns>/gatehouse-xds-tls`. */
  xds?: { name: string; notAfter: Date };
  /** Secrets this reconcile could not write, and why. */
  failures: { secret: string; message: string }[];
}

/** status.certificates holds at most this many (the CRD's maxItems). */
const maxEntries = 32;

export function certificatesStatus(input: StatusInput): {
  condition: CertificatesCondition;
  certificates: CertificateEntry[];
} {
  const { plan, now } = input;
  const entries: { name: string; notAfter: Date }[] = [];
  for (const leaf of plan.leaves)
    if (leaf.cert && !leaf.need?.urgent) entries.push({ name: leaf.spec.secretName, notAfter: leaf.cert.notAfter });
  if (input.ca) entries.push(input.ca);
  if (input.xds) entries.push(input.xds);
  // The DataPlane's own Secrets first, then those of other namespaces (`ns/name`).
  const order = (e: { name: string }) => `${e.name.includes('/') ? 1 : 0}${e.name}`;
  entries.sort((a, b) => (order(a) < order(b) ? -1 : order(a) > order(b) ? 1 : 0));
  const certificates = entries.slice(0, maxEntries).map((e) => ({ name: e.name, notAfter: timestamp(e.notAfter) }));
  const condition = (status: 'True' | 'False', reason: string, message: string): CertificatesCondition => ({
    type: conditionType,
    status,
    reason,
    message,
  });
  const result = (c: CertificatesCondition) => ({ condition: c, certificates });

  if (input.failures.length > 0) {
    return result(
      condition('False', 'IssueFailed', input.failures.map((f) => `cannot write ${f.secret}: ${f.message}`).join('; ')),
    );
  }
  const broken = plan.leaves.filter((l) => l.need?.urgent);
  const brokenText = broken.map((l) => `${l.spec.secretName}: ${l.need!.message}`).join('; ');
  if (plan.blocked) {
    return result(
      condition(
        'False',
        plan.blocked.reason,
        brokenText ? `${plan.blocked.message}; ${brokenText}` : plan.blocked.message,
      ),
    );
  }
  if (broken.length > 0) {
    const reason = broken.some((l) => l.need!.reason === 'Expired')
      ? 'Expired'
      : broken.some((l) => l.need!.reason === 'Invalid')
        ? 'Invalid'
        : 'Issuing';
    return result(condition('False', reason, brokenText));
  }
  // A broken certificate we replaced: the pods still hold the broken one until they load the new one.
  const replaced = plan.leaves.flatMap((l) => {
    const reason = l.secret?.annotations[certificateAnnotations.issueReason];
    const at = annotationTime(l.secret, certificateAnnotations.issuedAt);
    if ((reason !== 'Expired' && reason !== 'Invalid') || !at) return [];
    const loaded = new Date(at.getTime() + input.propagationDelayMs);
    if (loaded.getTime() <= now.getTime()) return [];
    return [
      {
        reason,
        text: `${l.spec.secretName}: ${l.secret!.annotations[certificateAnnotations.issueMessage] ?? reason}; re-issued at ${timestamp(at)}, the pods load it by ${timestamp(loaded)}`,
      },
    ];
  });
  if (replaced.length > 0) {
    return result(
      condition(
        'False',
        replaced.some((r) => r.reason === 'Expired') ? 'Expired' : 'Invalid',
        replaced.map((r) => r.text).join('; '),
      ),
    );
  }

  const soonest = [...entries].sort((a, b) => a.notAfter.getTime() - b.notAfter.getTime())[0];
  const valid = `${entries.length} certificate${entries.length === 1 ? '' : 's'} valid${soonest ? `; the soonest to expire is ${soonest.name} at ${timestamp(soonest.notAfter)}` : ''}`;
  const notes: string[] = [];
  if (plan.signerKind === 'operator' && input.operatorPhase !== 'Stable')
    notes.push(describePhase(input.operatorPhase));
  if (plan.retainedUserCas.length > 0)
    notes.push(
      `the CA of ${plan.userCa?.name ?? 'spec.certificates.caSecretName'} changed: the trust bundle keeps the previous one until every certificate is re-issued`,
    );
  const waiting = plan.deferred.map(
    (d) =>
      `${d.leaf.spec.secretName} (${d.leaf.need!.message}) is re-issued ${d.until ? `after ${timestamp(d.until)}` : 'once every trust bundle carries its CA'}`,
  );
  notes.push(...waiting);
  const rotating =
    notes.length > 0 &&
    (input.operatorPhase !== 'Stable' ||
      plan.retainedUserCas.length > 0 ||
      plan.deferred.some((d) => d.leaf.need!.reason === 'Reissued'));
  return result(condition('True', rotating ? 'Rotating' : 'Valid', [valid, ...notes].join('; ')));
}
