// One reconcile of a DataPlane's certificates, and one of the operator's CA and xDS certificate:
// plan, write in the safe order (CA, then bundles, then leaves), announce, and plan again from what
// was written for status and the next wake-up. Independent of where Secrets come from: the controller
// runs it against the apiserver, the unit tests against an in-memory store with a fake clock.
import type { Logger } from '../../../lib/log.ts';
import type { OperatorCa } from './authorities.ts';
import {
  bundleSecret,
  caSecret,
  certList,
  leafSecret,
  signLeaf,
  webhookSecret,
  xdsSecret,
  type IssuedLeaf,
} from './issue.ts';
import { parseCertificates } from './pki.ts';
import {
  planDataPlane,
  planOperator,
  type CaStep,
  type DataPlaneInput,
  type IssueReason,
  type IssueStep,
  type OperatorInput,
  type OperatorPlan,
  type OperatorView,
  type PlannerOptions,
} from './planner.ts';
import type { DesiredSecret, SecretObject, SecretView } from './secrets.ts';
import { certificatesStatus, type CertificateEntry, type CertificatesCondition } from './status.ts';
import { operatorCaSecretName, secretKeys, xdsTlsSecretName } from '../api/names.ts';

export interface EventTargetRef {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string };
}

/** The event recorder's contract (operator/src/kube/events.ts). */
export interface CertificateEvents {
  event(
    target: EventTargetRef,
    type: 'Normal' | 'Warning',
    reason: string,
    action: string,
    note: string,
    related?: EventTargetRef,
  ): void;
}

export interface ReconcileEnv {
  now(): Date;
  planner: PlannerOptions;
  operatorNamespace: string;
  /** The operator CA and xDS Secret as last written or cached. */
  operatorView(now: Date): OperatorView;
  /** Everything the operator's plan needs, read afresh (after a CA step it differs). */
  operatorInput(now: Date): OperatorInput;
  /** Server-side apply; returns the object as stored. */
  apply(desired: DesiredSecret): Promise<SecretObject>;
  events?: CertificateEvents;
  log?: Logger;
}

export interface DataPlaneOutcome {
  condition: CertificatesCondition;
  certificates: CertificateEntry[];
  failures: { secret: string; message: string }[];
  nextCheckAt: Date;
  /** What was issued, in order (tests check the order of rotation steps). */
  issued: { secret: string; reason: IssueReason }[];
  bundleWritten: boolean;
}

export const issueEvent: Record<IssueReason, { type: 'Normal' | 'Warning'; reason: string; action: string }> = {
  Issued: { type: 'Normal', reason: 'CertificateIssued', action: 'Issue' },
  Renewed: { type: 'Normal', reason: 'CertificateRenewed', action: 'Renew' },
  Reissued: { type: 'Normal', reason: 'CertificateReissued', action: 'Reissue' },
  Expired: { type: 'Warning', reason: 'CertificateExpired', action: 'Replace' },
  Invalid: { type: 'Warning', reason: 'CertificateInvalid', action: 'Replace' },
};

const caEvent: Record<CaStep['step'], { reason: string; action: string }> = {
  create: { reason: 'CACreated', action: 'Create' },
  startRotation: { reason: 'CARotationStarted', action: 'Rotate' },
  promote: { reason: 'CARotationPromoted', action: 'Rotate' },
  finish: { reason: 'CARotationCompleted', action: 'Rotate' },
};

function tryFirst(pem: string | undefined) {
  if (!pem) return undefined;
  try {
    return parseCertificates(pem)[0];
  } catch {
    return undefined;
  }
}

export function secretRef(secret: SecretObject): EventTargetRef {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: secret.metadata?.name ?? '', namespace: secret.metadata?.namespace, uid: secret.metadata?.uid },
  };
}

/**
 * Writes what a DataPlane's plan asks for (the bundle first; leaves only when it was written), then
 * plans again from the result: the condition and certificates[] for its status and when to look again.
 */
export async function reconcileDataPlaneCertificates(
  env: ReconcileEnv,
  target: EventTargetRef & { metadata: { uid: string } },
  input: () => DataPlaneInput,
): Promise<DataPlaneOutcome> {
  const now = env.now();
  const first = input();
  const owner = { name: first.name, uid: target.metadata.uid };
  const plan = planDataPlane(now, env.planner, env.operatorView(now), first);
  const failures: { secret: string; message: string }[] = [];
  const issued: DataPlaneOutcome['issued'] = [];
  let bundleWritten = false;

  if (plan.bundle?.write) {
    try {
      await env.apply(bundleSecret(first.namespace, plan.bundle, owner));
      bundleWritten = true;
      if (plan.bundle.added.length > 0 || plan.bundle.removed.length > 0) {
        const note = [
          plan.bundle.added.length > 0 ? `added ${certList(plan.bundle.added)}` : '',
          plan.bundle.removed.length > 0 ? `removed ${certList(plan.bundle.removed)}` : '',
        ]
          .filter(Boolean)
          .join('; ');
        env.events?.event(target, 'Normal', 'TrustBundleUpdated', 'Update', `${plan.bundle.name}: ${note}`);
        env.log?.info(
          {
            secret: `${first.namespace}/${plan.bundle.name}`,
            added: plan.bundle.added.map((c) => c.fingerprint),
            removed: plan.bundle.removed.map((c) => c.fingerprint),
          },
          'trust bundle updated',
        );
      }
    } catch (err) {
      failures.push({ secret: plan.bundle.name, message: (err as Error).message });
    }
  }
  // Never a leaf signed by a CA its bundle may not carry: no leaves when the bundle could not be written.
  if (failures.length === 0 && plan.signer) {
    for (const step of plan.issue) {
      try {
        const leaf = await signLeaf(
          step.spec,
          step,
          plan.signer,
          now,
          env.planner,
          first.durationMs,
          first.renewBeforeMs,
        );
        const applied = await env.apply(leafSecret(step.spec, leaf, owner));
        issued.push({ secret: step.spec.secretName, reason: step.reason });
        announceIssue(env, target, step, leaf, applied);
      } catch (err) {
        // No Event of its own: CertificatesReady=False, reason IssueFailed, names the Secret and the
        // apiserver's message, and its transition is the one Warning (the status writer's).
        failures.push({ secret: step.spec.secretName, message: (err as Error).message });
        env.log?.warn(
          { secret: `${step.spec.namespace}/${step.spec.secretName}`, err: (err as Error).message },
          'certificate not written',
        );
      }
    }
  }

  // Status from what the Secrets hold now, including what was just written.
  const after = env.now();
  const operator = env.operatorView(after);
  const current = planDataPlane(after, env.planner, operator, input());
  const ca = current.userCa
    ? current.userCa.signer
      ? { name: current.userCa.name, notAfter: current.userCa.signer.cert.notAfter }
      : undefined
    : operator.ca.signing
      ? { name: `${env.operatorNamespace}/${operatorCaSecretName}`, notAfter: operator.ca.signing.cert.notAfter }
      : undefined;
  const xdsCert = tryFirst(operator.xds?.data[secretKeys.tlsCert]);
  const status = certificatesStatus({
    now: after,
    propagationDelayMs: env.planner.propagationDelayMs,
    plan: current,
    operatorPhase: operator.ca.phase,
    failures,
    ca,
    xds: xdsCert ? { name: `${env.operatorNamespace}/${xdsTlsSecretName}`, notAfter: xdsCert.notAfter } : undefined,
  });
  return { ...status, failures, nextCheckAt: current.nextCheckAt, issued, bundleWritten };
}

function announceIssue(
  env: ReconcileEnv,
  target: EventTargetRef,
  step: IssueStep,
  leaf: IssuedLeaf,
  applied: SecretObject,
): void {
  const e = issueEvent[step.reason];
  const note = `${step.spec.secretName}: ${step.message}; issued ${leaf.cert.commonName}, valid until ${leaf.cert.notAfter.toISOString()}`;
  // Normal on a DataPlane: a broken leaf turns CertificatesReady False (reason Expired or Invalid,
  // naming the Secret), and that transition is the one Warning; this Event says what was done.
  env.events?.event(target, 'Normal', e.reason, e.action, note, secretRef(applied));
  env.log?.[e.type === 'Warning' ? 'warn' : 'info'](
    {
      secret: `${step.spec.namespace}/${step.spec.secretName}`,
      reason: step.reason,
      why: step.message,
      serial: leaf.cert.serialNumber,
      notAfter: leaf.cert.notAfter.toISOString(),
    },
    'certificate issued',
  );
}

export interface OperatorOutcome {
  plan: OperatorPlan;
  caSteps: CaStep['step'][];
  xdsIssued?: IssueReason;
  xdsTrustWritten: boolean;
  webhookIssued?: IssueReason;
  nextCheckAt: Date;
}

/** The operator's CA (one step at a time, each planned from what the last wrote), then the xDS server's Secret. */
export async function reconcileOperatorCertificates(env: ReconcileEnv): Promise<OperatorOutcome> {
  const opns = env.operatorNamespace;
  let now = env.now();
  let plan = planOperator(now, env.planner, env.operatorInput(now));
  const caSteps: CaStep['step'][] = [];
  for (let steps = 0; plan.caStep && steps < 4; steps++) {
    const ca = env.operatorView(now).ca;
    const applied = await env.apply(await caSecret(opns, plan.caStep, ca, now, env.planner));
    caSteps.push(plan.caStep.step);
    announceCaStep(env, plan.caStep, ca, applied);
    now = env.now();
    plan = planOperator(now, env.planner, env.operatorInput(now));
  }
  if (plan.waiting) env.log?.info({ phase: plan.phase, waiting: plan.waiting }, 'CA rotation');
  const outcome: OperatorOutcome = { plan, caSteps, xdsTrustWritten: false, nextCheckAt: plan.nextCheckAt };
  const xds = plan.xds;
  const signer = env.operatorView(now).ca.signing;
  const webhookStep = plan.webhook?.issue;
  if (webhookStep && signer) {
    const issued = await signLeaf(
      webhookStep.spec,
      webhookStep,
      signer,
      now,
      env.planner,
      env.planner.operatorLeafDurationMs,
    );
    const applied = await env.apply(webhookSecret(opns, issued));
    outcome.webhookIssued = webhookStep.reason;
    announceOperatorLeaf(env, applied, webhookStep, issued);
  }
  if (!xds || !signer || (!xds.trustWrite && !xds.issue)) return outcome;
  const live = env.operatorView(now).xds;
  const issued = xds.issue
    ? await signLeaf(xds.issue.spec, xds.issue, signer, now, env.planner, env.planner.operatorLeafDurationMs)
    : undefined;
  const desired = xdsSecret(opns, xds, live, issued, now);
  if (!desired) return outcome;
  const applied = await env.apply(desired);
  outcome.xdsTrustWritten = xds.trustWrite;
  if (issued && xds.issue) {
    outcome.xdsIssued = xds.issue.reason;
    announceOperatorLeaf(env, applied, xds.issue, issued);
  }
  if (xds.trustChanged)
    env.log?.info(
      { secret: `${opns}/${xdsTlsSecretName}`, cas: xds.trust.map((c) => c.fingerprint) },
      'xDS client trust updated',
    );
  return outcome;
}

/** An Event on the operator's own leaf Secret (xDS server, admission webhook) and a log line. */
function announceOperatorLeaf(env: ReconcileEnv, applied: SecretObject, step: IssueStep, issued: IssuedLeaf): void {
  const e = issueEvent[step.reason];
  env.events?.event(
    secretRef(applied),
    e.type,
    e.reason,
    e.action,
    `${step.message}; issued ${issued.cert.commonName}, valid until ${issued.cert.notAfter.toISOString()}`,
  );
  env.log?.[e.type === 'Warning' ? 'warn' : 'info'](
    {
      secret: `${step.spec.namespace}/${step.spec.secretName}`,
      reason: step.reason,
      why: step.message,
      notAfter: issued.cert.notAfter.toISOString(),
    },
    'certificate issued',
  );
}

function announceCaStep(env: ReconcileEnv, step: CaStep, before: OperatorCa, applied: SecretObject): void {
  const e = caEvent[step.step];
  const replacing = step.step === 'create' && step.reason === 'CAInvalid';
  const note =
    step.step === 'startRotation'
      ? `step 1 of 3: ${step.message}; the new CA joins every trust bundle before it signs anything`
      : step.step === 'promote'
        ? `step 2 of 3: ${step.message}`
        : step.step === 'finish'
          ? `step 3 of 3: ${step.message}`
          : replacing
            ? `${step.message}; created a new CA: every certificate the old one signed is re-issued at once`
            : 'created the operator CA';
  env.events?.event(
    secretRef(applied),
    replacing ? 'Warning' : 'Normal',
    replacing ? 'CAReplaced' : e.reason,
    e.action,
    note,
  );
  env.log?.[replacing ? 'warn' : 'info'](
    {
      secret: `${env.operatorNamespace}/${operatorCaSecretName}`,
      step: step.step,
      previousPhase: before.phase,
      why: step.message,
    },
    'operator CA',
  );
}

export type { SecretView };
