// The planner: given the Secrets as they are and the clock, what to do next. Pure and level-
// triggered: everything it needs (rotation phase, when a bundle last changed, when a leaf was issued
// and why) is in the Secrets, so a restarted operator carries on where the last one stopped.
//
// The rules that make CA rotation safe (trust-bundle overlap):
// - a leaf that is broken (missing, expired, not yet valid, signed by a CA no bundle carries, key and
//   certificate apart, missing usages or names) is replaced at once: it does not work anyway;
// - a working leaf is replaced (renewal, re-issue under a new CA, names no longer wanted) only once the
//   signing CA has been in every bundle that verifies it for the propagation delay ("settled");
// - the operator CA moves Stable -> Adding (new CA in the trust set) -> Reissuing (new CA signs; old
//   one still trusted) -> Stable (old one gone), each step only when every bundle carries the new CA
//   for the delay, resp. every leaf is signed by the new CA for the delay;
// - a user CA (caSecretName) that changes is handled the same way per DataPlane: the new one joins the
//   bundle, leaves move to it once it settled, the old one leaves the bundle after the delay.
import {
  bundleCerts,
  certSet,
  containsAll,
  fingerprints,
  readUserCa,
  sameSet,
  type CaPhase,
  type OperatorCa,
  type UserCa,
} from './authorities.ts';
import type { LeafSpec } from './leaves.ts';
import {
  certificateLabel,
  chainAnchor,
  isSignedBy,
  keyMatches,
  parseCertificates,
  type CertInfo,
  type Signer,
} from './pki.ts';
import { annotationTime, type SecretView } from './secrets.ts';
import { certificateAnnotations, secretKeys } from '../api/names.ts';

export const hour = 3_600_000;
/** DataPlane spec.certificates.duration default (docs/architecture.md#the-api). */
export const defaultLeafDurationMs = 2160 * hour;

export interface PlannerOptions {
  /** How long a changed Secret takes to reach the pods that mount it (kubelet refreshes volumes within about a minute). */
  propagationDelayMs: number;
  /** Lifetime of an operator CA; rotation starts at 2/3 of it. */
  caDurationMs: number;
  /** Lifetime of the operator's own leaf (the xDS server). */
  operatorLeafDurationMs: number;
  /** notBefore is set this far in the past, for clocks that lag ours. */
  backdateMs: number;
  /** The longest wait before looking again (clock jumps, missed events). */
  maxRequeueMs: number;
}

export const defaultPlannerOptions: PlannerOptions = {
  propagationDelayMs: 90_000,
  caDurationMs: 5 * defaultLeafDurationMs,
  operatorLeafDurationMs: defaultLeafDurationMs,
  backdateMs: 5 * 60_000,
  maxRequeueMs: hour,
};

/**
 * Issued: there was none. Renewed: due (2/3 of its life, renewBefore) or its duration changed.
 * Reissued: working, but signed by a CA that is leaving, or its names changed. Expired / Invalid: broken.
 */
export type IssueReason = 'Issued' | 'Renewed' | 'Reissued' | 'Expired' | 'Invalid';

export interface LeafNeed {
  reason: IssueReason;
  message: string;
  /** Broken (or missing, or lacking names clients need): replaced at once, without waiting for the signer to settle. */
  urgent: boolean;
}

export interface LeafState {
  spec: LeafSpec;
  secret?: SecretView;
  /** The leaf certificate (first of tls.crt), when it parses. */
  cert?: CertInfo;
  /** The trusted CA it chains to. */
  anchor?: CertInfo;
  signedBySigner: boolean;
  issuedAt?: Date;
  renewAt?: Date;
  need?: LeafNeed;
}

export interface LeafContext {
  now: Date;
  /** The CA that signs now (undefined: none usable; nothing can be issued). */
  signer?: Signer;
  /** Every CA a leaf may chain to and still work. */
  trust: readonly CertInfo[];
  durationMs: number;
  renewBeforeMs?: number;
}

const iso = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');
const missing = (wanted: string[], have: string[]) => wanted.filter((w) => !have.includes(w));
const ms = (d: Date | undefined) => d?.getTime() ?? Number.POSITIVE_INFINITY;

function formatDuration(msValue: number): string {
  if (msValue % hour === 0) return `${msValue / hour}h`;
  if (msValue % 60_000 === 0) return `${msValue / 60_000}m`;
  return `${msValue / 1000}s`;
}

/** When a leaf is renewed: notAfter - renewBefore (default a third of the duration, and never before it was issued). */
export function leafRenewAt(cert: CertInfo, issuedAt: Date, durationMs: number, renewBeforeMs?: number): Date {
  const lifetime = cert.notAfter.getTime() - issuedAt.getTime();
  let before = renewBeforeMs ?? durationMs / 3;
  // A certificate cut short by its CA's expiry (or a renewBefore longer than the life): 2/3 of what it has.
  if (!(before < lifetime)) before = lifetime / 3;
  return new Date(cert.notAfter.getTime() - before);
}

/** What a leaf Secret holds against what it must hold: nothing to do, or issue (now, or once the signer settled). */
export function evaluateLeaf(spec: LeafSpec, secret: SecretView | undefined, ctx: LeafContext): LeafState {
  const state: LeafState = { spec, secret, signedBySigner: false };
  const fail = (reason: IssueReason, message: string, urgent = true): LeafState => ({
    ...state,
    need: { reason, message, urgent },
  });
  if (!secret) return fail('Issued', 'no certificate yet');
  const certPem = secret.data[secretKeys.tlsCert];
  const keyPem = secret.data[secretKeys.tlsKey];
  if (!certPem || !keyPem)
    return fail('Invalid', `the Secret has no ${!certPem ? secretKeys.tlsCert : secretKeys.tlsKey}`);
  let chain: CertInfo[];
  try {
    chain = parseCertificates(certPem);
  } catch (err) {
    return fail('Invalid', `${secretKeys.tlsCert} does not hold a readable certificate: ${(err as Error).message}`);
  }
  const cert = chain[0]!;
  state.cert = cert;
  const now = ctx.now.getTime();
  if (!keyMatches(cert, keyPem))
    return fail('Invalid', `${secretKeys.tlsKey} does not belong to the certificate ${certificateLabel(cert)}`);
  if (cert.notBefore.getTime() > now)
    return fail('Invalid', `the certificate is not valid before ${iso(cert.notBefore)}`);
  if (cert.notAfter.getTime() <= now) return fail('Expired', `the certificate expired at ${iso(cert.notAfter)}`);
  const anchor = chainAnchor(chain, ctx.trust);
  if (!anchor)
    return fail(
      'Invalid',
      `the certificate was issued by "${cert.issuer}", a CA the trust bundle does not carry (replaced by someone else?)`,
    );
  state.anchor = anchor;
  const lacksUsage = missing(spec.usages, cert.usages);
  if (lacksUsage.length > 0)
    return fail('Invalid', `the certificate lacks the extended key usage ${lacksUsage.join(', ')}`);
  const lacksNames = [...missing(spec.dns, cert.dns), ...missing(spec.ips, cert.ips), ...missing(spec.uris, cert.uris)];
  if (lacksNames.length > 0) {
    // A listener's names follow ApiProxy hosts: a new host is routine. A component's names never change: someone changed it.
    return spec.role === 'listener'
      ? fail('Reissued', `the certificate lacks the names ${lacksNames.join(', ')}`)
      : fail('Invalid', `the certificate lacks the names ${lacksNames.join(', ')}`);
  }
  const recorded = annotationTime(secret, certificateAnnotations.issuedAt);
  state.issuedAt = recorded && recorded.getTime() < cert.notAfter.getTime() ? recorded : cert.notBefore;
  state.renewAt = leafRenewAt(cert, state.issuedAt, ctx.durationMs, ctx.renewBeforeMs);
  state.signedBySigner = ctx.signer !== undefined && isSignedBy(cert, ctx.signer.cert);
  if (ctx.signer && !state.signedBySigner) {
    return {
      ...state,
      need: {
        reason: 'Reissued',
        message: `the certificate was issued by ${certificateLabel(anchor)}; the signing CA is now ${certificateLabel(ctx.signer.cert)}`,
        urgent: false,
      },
    };
  }
  const extra = [...missing(cert.dns, spec.dns), ...missing(cert.ips, spec.ips), ...missing(cert.uris, spec.uris)];
  if (extra.length > 0)
    return {
      ...state,
      need: {
        reason: 'Reissued',
        message: `the certificate carries names no longer wanted: ${extra.join(', ')}`,
        urgent: false,
      },
    };
  const lifetime = cert.notAfter.getTime() - state.issuedAt.getTime();
  // 10% and a minute of slack: the lifetime is measured from issuedAt, which is our clock at signing.
  if (lifetime > ctx.durationMs * 1.1 + 60_000) {
    return {
      ...state,
      need: {
        reason: 'Renewed',
        message: `spec.certificates.duration is ${formatDuration(ctx.durationMs)}, shorter than the certificate's life`,
        urgent: false,
      },
    };
  }
  if (state.renewAt.getTime() <= now) {
    const rule =
      ctx.renewBeforeMs !== undefined && ctx.renewBeforeMs < lifetime
        ? `renewBefore ${formatDuration(ctx.renewBeforeMs)}`
        : '2/3 of its lifetime';
    return {
      ...state,
      need: {
        reason: 'Renewed',
        message: `the certificate was due for renewal at ${iso(state.renewAt)} (${rule}); it expires at ${iso(cert.notAfter)}`,
        urgent: false,
      },
    };
  }
  return state;
}

/** A trust bundle that verifies a leaf: its CAs as they will be after this plan, and since when. */
export interface Verifier {
  secret: string;
  certs: readonly CertInfo[];
  changedAt?: Date;
}

/**
 * When the `anchors` will have been in every verifier for the propagation delay: a time (maybe past),
 * or undefined when a verifier does not carry them at all (or does not say since when).
 */
export function settledAt(
  anchors: readonly CertInfo[],
  verifiers: readonly Verifier[],
  delayMs: number,
): Date | undefined {
  let latest = 0;
  for (const v of verifiers) {
    if (!containsAll(v.certs, anchors) || !v.changedAt) return undefined;
    latest = Math.max(latest, v.changedAt.getTime() + delayMs);
  }
  return new Date(latest);
}

// ---------------------------------------------------------------- a DataPlane

export interface DataPlaneInput {
  namespace: string;
  name: string;
  uid: string;
  durationMs: number;
  renewBeforeMs?: number;
  caSecretName?: string;
  /** The leaves it needs (envoy, extproc, issued listeners). */
  leaves: LeafSpec[];
  /** Its managed Secrets by name (bundle and leaves). */
  secrets: ReadonlyMap<string, SecretView>;
  /** The caSecretName Secret, when it exists. */
  userCaSecret?: SecretView;
  bundleName: string;
}

/** What the DataPlane planner needs of the operator: its CA, and the xDS server's client trust (ca.crt of gatehouse-xds-tls). */
export interface OperatorView {
  namespace: string;
  ca: OperatorCa;
  xds?: SecretView;
}

export interface BundlePlan {
  name: string;
  /** What it must carry, sorted by fingerprint. */
  certs: CertInfo[];
  /** The user CAs among them (annotation gatehouse.dev/user-cas). */
  userCas: string[];
  write: boolean;
  added: CertInfo[];
  removed: CertInfo[];
  /** When its set of CAs last changed (now, when written). */
  changedAt: Date;
}

export interface IssueStep {
  spec: LeafSpec;
  reason: IssueReason;
  message: string;
}

export type BlockReason = 'CANotFound' | 'CAInvalid' | 'CAPending';

export interface DataPlanePlan {
  /** Why nothing can be signed now; the bundle may still be written (the operator CA's rotation must not stall). */
  blocked?: { reason: BlockReason; message: string };
  signer?: Signer;
  signerKind: 'operator' | 'user';
  userCa?: UserCa;
  bundle?: BundlePlan;
  leaves: LeafState[];
  issue: IssueStep[];
  /** Leaves to replace once the signer settled (and when that is, if known). */
  deferred: { leaf: LeafState; until?: Date }[];
  /** User CAs the bundle keeps only until every leaf has moved off them (a user CA rotation). */
  retainedUserCas: CertInfo[];
  /** Every user CA it trusts (current and retained): the xDS server must accept clients signed by them. */
  userTrust: CertInfo[];
  nextCheckAt: Date;
}

function leafContext(now: Date, signer: Signer | undefined, trust: CertInfo[], dp: DataPlaneInput): LeafContext {
  return { now, signer, trust, durationMs: dp.durationMs, renewBeforeMs: dp.renewBeforeMs };
}

/** The leaves whose names the xDS server verifies as clients: their signer must settle in its trust too. */
const xdsClients = new Set(['envoy', 'extproc']);

export function planDataPlane(
  now: Date,
  options: PlannerOptions,
  operator: OperatorView,
  dp: DataPlaneInput,
): DataPlanePlan {
  const delay = options.propagationDelayMs;
  const userCa = dp.caSecretName ? readUserCa(dp.userCaSecret, dp.caSecretName, now) : undefined;
  const liveBundle = dp.secrets.get(dp.bundleName);
  const liveCerts = bundleCerts(liveBundle);
  const listedUserCas = new Set(
    (liveBundle?.annotations[certificateAnnotations.userCas] ?? '').split(',').filter(Boolean),
  );
  const operatorFps = new Set(fingerprints(operator.ca.trust));
  const currentUser = userCa?.status === 'ok' ? userCa.anchors : [];
  const currentUserFps = new Set(fingerprints(currentUser));
  // User CAs the bundle carried before that are neither current nor expired: kept while leaves need them.
  const formerUser = liveCerts.filter(
    (c) =>
      listedUserCas.has(c.fingerprint) &&
      !currentUserFps.has(c.fingerprint) &&
      !operatorFps.has(c.fingerprint) &&
      c.notAfter.getTime() > now.getTime(),
  );

  let blocked: DataPlanePlan['blocked'];
  let signer: Signer | undefined;
  if (operator.ca.status !== 'ok')
    blocked = { reason: 'CAPending', message: `waiting for the operator CA: ${operator.ca.problem}` };
  else if (userCa && userCa.status !== 'ok')
    blocked = { reason: userCa.status === 'missing' ? 'CANotFound' : 'CAInvalid', message: userCa.problem ?? '' };
  else signer = userCa?.signer ?? operator.ca.signing;

  // Current CAs first: a leaf that chains to both an old and a renewed user CA (same key) counts as the current one's.
  const candidateTrust = [...operator.ca.trust, ...currentUser, ...formerUser];
  const leaves = dp.leaves.map((spec) =>
    evaluateLeaf(spec, dp.secrets.get(spec.secretName), leafContext(now, signer, candidateTrust, dp)),
  );
  const lastIssued = Math.max(0, ...leaves.map((l) => l.issuedAt?.getTime() ?? 0));
  // A former user CA leaves once no working leaf chains to it and the last re-issue had time to reach the pods.
  // Without a signer nothing can move off it, so it stays.
  const retained = formerUser.filter(
    (c) => !signer || leaves.some((l) => l.anchor?.fingerprint === c.fingerprint) || now.getTime() < lastIssued + delay,
  );
  const userTrust = certSet([...currentUser, ...retained]);

  const plan: DataPlanePlan = {
    blocked,
    signer,
    userCa,
    signerKind: userCa ? 'user' : 'operator',
    leaves,
    issue: [],
    deferred: [],
    retainedUserCas: retained,
    userTrust,
    nextCheckAt: new Date(now.getTime() + options.maxRequeueMs),
  };
  const wake = (at: Date | undefined) => {
    if (at && at.getTime() < plan.nextCheckAt.getTime()) plan.nextCheckAt = at;
  };

  // Without the operator CA there is no trust to write: writing a bundle without it would cut the xDS connection.
  if (operator.ca.status === 'ok') {
    const wanted = certSet([...operator.ca.trust, ...userTrust]);
    const userCas = fingerprints(userTrust);
    const changed = !liveBundle || !sameSet(liveCerts, wanted);
    const recorded = annotationTime(liveBundle, certificateAnnotations.trustChangedAt);
    const write =
      changed || !recorded || (liveBundle?.annotations[certificateAnnotations.userCas] ?? '') !== userCas.join(',');
    plan.bundle = {
      name: dp.bundleName,
      certs: wanted,
      userCas,
      write,
      added: wanted.filter((c) => !liveCerts.some((l) => l.fingerprint === c.fingerprint)),
      removed: liveCerts.filter((l) => !wanted.some((c) => c.fingerprint === l.fingerprint)),
      changedAt: changed || !recorded ? now : recorded,
    };
  }
  if (retained.length > 0 && leaves.every((l) => !retained.some((c) => c.fingerprint === l.anchor?.fingerprint)))
    wake(new Date(lastIssued + delay));

  if (signer && plan.bundle) {
    const anchors = userCa?.status === 'ok' ? userCa.anchors : [signer.cert];
    const bundleVerifier: Verifier = {
      secret: plan.bundle.name,
      certs: plan.bundle.certs,
      changedAt: plan.bundle.changedAt,
    };
    const xdsVerifier: Verifier | undefined = operator.xds
      ? {
          secret: `${operator.xds.namespace}/${operator.xds.name}`,
          certs: bundleCerts(operator.xds),
          changedAt: annotationTime(operator.xds, certificateAnnotations.trustChangedAt),
        }
      : undefined;
    for (const leaf of leaves) {
      if (!leaf.need) continue;
      if (leaf.need.urgent) {
        plan.issue.push({ spec: leaf.spec, reason: leaf.need.reason, message: leaf.need.message });
        continue;
      }
      const verifiers =
        xdsClients.has(leaf.spec.role) && xdsVerifier ? [bundleVerifier, xdsVerifier] : [bundleVerifier];
      const until = settledAt(anchors, verifiers, delay);
      if (until && until.getTime() <= now.getTime())
        plan.issue.push({ spec: leaf.spec, reason: leaf.need.reason, message: leaf.need.message });
      else {
        plan.deferred.push({ leaf, until });
        // Unknown: another reconcile (the operator's, for the xDS trust) has to write first; its Secret's event wakes us.
        wake(until ?? new Date(now.getTime() + Math.max(1000, delay / 4)));
      }
    }
  }
  for (const leaf of leaves) {
    if (!leaf.need) wake(leaf.renewAt);
    // A broken leaf we replaced: status flips back to True once the pods had time to load the new one.
    const reason = leaf.secret?.annotations[certificateAnnotations.issueReason];
    if (
      leaf.issuedAt &&
      (reason === 'Expired' || reason === 'Invalid') &&
      leaf.issuedAt.getTime() + delay > now.getTime()
    )
      wake(new Date(leaf.issuedAt.getTime() + delay));
  }
  if (userCa?.signer) wake(userCa.signer.cert.notAfter);
  return plan;
}

// ---------------------------------------------------------------- the operator: its CA and the xDS server

export interface DataPlaneSummary {
  /** namespace/name. */
  key: string;
  bundle?: SecretView;
  /** Its leaf Secrets that exist. */
  leaves: SecretView[];
  /** Its user CAs (DataPlanePlan.userTrust): the xDS server trusts them. */
  userTrust: CertInfo[];
}

export interface OperatorInput {
  namespace: string;
  ca: OperatorCa;
  xds?: SecretView;
  xdsLeaf: LeafSpec;
  dataPlanes: DataPlaneSummary[];
  /** The admission webhook's serving certificate, when the webhook is served. */
  webhook?: { leaf: LeafSpec; secret?: SecretView };
}

export type CaStep =
  | { step: 'create'; reason: 'CANotFound' | 'CAInvalid'; message: string }
  | { step: 'startRotation'; message: string; request?: string }
  | { step: 'promote'; message: string }
  | { step: 'finish'; message: string };

export interface XdsPlan {
  /** The CAs the xDS server accepts clients from: the operator's and every user CA. */
  trust: CertInfo[];
  trustChanged: boolean;
  /** ca.crt or its annotations need writing. */
  trustWrite: boolean;
  leaf: LeafState;
  /** Issue the serving certificate now. */
  issue?: IssueStep;
  deferredUntil?: Date;
}

/** The admission webhook's serving certificate; the apiserver verifies it against the operator CA's trust (caBundle). */
export interface WebhookPlan {
  leaf: LeafState;
  issue?: IssueStep;
  deferredUntil?: Date;
}

export interface OperatorPlan {
  phase: CaPhase;
  caStep?: CaStep;
  /** What the rotation waits for, when it waits. */
  waiting?: string;
  xds?: XdsPlan;
  webhook?: WebhookPlan;
  nextCheckAt: Date;
}

function firstCert(view: SecretView, key: string): CertInfo | undefined {
  const pem = view.data[key];
  if (!pem) return undefined;
  try {
    return parseCertificates(pem)[0];
  } catch {
    return undefined;
  }
}

const secretName = (v: SecretView) => `${v.namespace}/${v.name}`;

export function planOperator(now: Date, options: PlannerOptions, input: OperatorInput): OperatorPlan {
  const { ca } = input;
  const delay = options.propagationDelayMs;
  const plan: OperatorPlan = { phase: ca.phase, nextCheckAt: new Date(now.getTime() + options.maxRequeueMs) };
  const wake = (at: Date | undefined) => {
    if (at && at.getTime() < plan.nextCheckAt.getTime()) plan.nextCheckAt = at;
  };
  if (ca.status !== 'ok') {
    plan.caStep = {
      step: 'create',
      reason: ca.status === 'missing' ? 'CANotFound' : 'CAInvalid',
      message: ca.problem ?? '',
    };
    return plan;
  }
  const signing = ca.signing!;
  const bundles = input.dataPlanes.filter((d) => d.bundle).map((d) => d.bundle!);
  // Every trust bundle whose holders verify operator-signed certificates: each DataPlane's, and the xDS server's own.
  const verifiers: Verifier[] = [
    ...bundles.map((b) => ({
      secret: secretName(b),
      certs: bundleCerts(b),
      changedAt: annotationTime(b, certificateAnnotations.trustChangedAt),
    })),
    ...(input.xds
      ? [
          {
            secret: secretName(input.xds),
            certs: bundleCerts(input.xds),
            changedAt: annotationTime(input.xds, certificateAnnotations.trustChangedAt),
          },
        ]
      : []),
  ];

  if (ca.phase === 'Stable' && (ca.rotationRequest !== undefined || ms(ca.renewAt) <= now.getTime())) {
    plan.caStep = {
      step: 'startRotation',
      request: ca.rotationRequest,
      message:
        ca.rotationRequest !== undefined
          ? `rotation requested (${certificateAnnotations.rotate}=${ca.rotationRequest})`
          : `the CA ${certificateLabel(signing.cert)} reached 2/3 of its lifetime at ${iso(ca.renewAt!)}; it expires at ${iso(signing.cert.notAfter)}`,
    };
    return plan;
  }
  if (ca.phase === 'Adding') {
    const lagging = verifiers.find((v) => !containsAll(v.certs, [ca.next!.cert]));
    const until = settledAt([ca.next!.cert], verifiers, delay);
    if (lagging)
      plan.waiting = `step 1 of 3: waiting for ${lagging.secret} to carry the new CA ${certificateLabel(ca.next!.cert)}`;
    else if (until && until.getTime() > now.getTime()) {
      plan.waiting = `step 1 of 3: every trust bundle carries the new CA; waiting until ${iso(until)} for the pods to load them`;
      wake(until);
    } else if (until) {
      plan.caStep = {
        step: 'promote',
        message: `every trust bundle has carried the new CA ${certificateLabel(ca.next!.cert)} for ${formatDuration(delay)}: it signs from now on`,
      };
      return plan;
    }
  }
  if (ca.phase === 'Reissuing') {
    const leaves = [
      ...input.dataPlanes.flatMap((d) => d.leaves),
      ...(input.xds ? [input.xds] : []),
      ...(input.webhook?.secret ? [input.webhook.secret] : []),
    ];
    let lastIssued = 0;
    let laggard: string | undefined;
    for (const view of leaves) {
      const cert = firstCert(view, secretKeys.tlsCert);
      if (!cert) continue;
      if (isSignedBy(cert, ca.previous!) && !isSignedBy(cert, signing.cert)) laggard ??= secretName(view);
      if (isSignedBy(cert, signing.cert))
        lastIssued = Math.max(
          lastIssued,
          (annotationTime(view, certificateAnnotations.issuedAt) ?? cert.notBefore).getTime(),
        );
    }
    if (laggard) plan.waiting = `step 2 of 3: waiting for ${laggard} to be re-issued under the new CA`;
    else if (lastIssued + delay > now.getTime()) {
      plan.waiting = `step 2 of 3: every certificate is signed by the new CA; waiting until ${iso(new Date(lastIssued + delay))} for the pods to load them`;
      wake(new Date(lastIssued + delay));
    } else {
      plan.caStep = {
        step: 'finish',
        message: `every certificate has been signed by the new CA for ${formatDuration(delay)}: the old CA ${certificateLabel(ca.previous!)} leaves the trust bundles`,
      };
      return plan;
    }
  }
  if (ca.phase === 'Stable') wake(ca.renewAt);

  // The xDS server: its serving certificate and the CAs it accepts clients from.
  const trust = certSet([...ca.trust, ...input.dataPlanes.flatMap((d) => d.userTrust)]);
  const liveTrust = bundleCerts(input.xds);
  const trustChanged = !input.xds || !sameSet(liveTrust, trust);
  const trustWrite = trustChanged || !annotationTime(input.xds, certificateAnnotations.trustChangedAt);
  const leaf = evaluateLeaf(input.xdsLeaf, input.xds, {
    now,
    signer: signing,
    trust: ca.trust,
    durationMs: options.operatorLeafDurationMs,
  });
  const xds: XdsPlan = { trust, trustChanged, trustWrite, leaf };
  if (leaf.need) {
    // Its clients are every DataPlane's pods: the signer must have settled in each bundle.
    const until = settledAt(
      [signing.cert],
      verifiers.filter((v) => v.secret !== (input.xds && secretName(input.xds))),
      delay,
    );
    if (leaf.need.urgent || (until && until.getTime() <= now.getTime()))
      xds.issue = { spec: input.xdsLeaf, reason: leaf.need.reason, message: leaf.need.message };
    else {
      xds.deferredUntil = until;
      wake(until ?? new Date(now.getTime() + Math.max(1000, delay / 4)));
    }
  } else wake(leaf.renewAt);
  const reason = input.xds?.annotations[certificateAnnotations.issueReason];
  if (
    leaf.issuedAt &&
    (reason === 'Expired' || reason === 'Invalid') &&
    leaf.issuedAt.getTime() + delay > now.getTime()
  )
    wake(new Date(leaf.issuedAt.getTime() + delay));
  plan.xds = xds;
  if (input.webhook) plan.webhook = planWebhook(now, options, input.webhook, ca, signing, verifiers, input.xds, wake);
  return plan;
}

/**
 * Like the xDS certificate: a broken one at once, a working one (renewal, a new signer) once the signer
 * has settled in the DataPlanes' bundles. The apiserver's caBundle follows the operator CA's trust, which
 * carried a new CA for the propagation delay before it signs (rotation step 1).
 */
function planWebhook(
  now: Date,
  options: PlannerOptions,
  webhook: NonNullable<OperatorInput['webhook']>,
  ca: OperatorCa,
  signing: Signer,
  verifiers: Verifier[],
  xdsSecret: SecretView | undefined,
  wake: (at: Date | undefined) => void,
): WebhookPlan {
  const delay = options.propagationDelayMs;
  // What the caBundle carries: every CA of the operator's trust (current, next, previous).
  const leaf = evaluateLeaf(webhook.leaf, webhook.secret, {
    now,
    signer: signing,
    trust: ca.trust,
    durationMs: options.operatorLeafDurationMs,
  });
  const plan: WebhookPlan = { leaf };
  if (leaf.need) {
    const until = settledAt(
      [signing.cert],
      verifiers.filter((v) => v.secret !== (xdsSecret && secretName(xdsSecret))),
      delay,
    );
    if (leaf.need.urgent || (until && until.getTime() <= now.getTime()))
      plan.issue = { spec: webhook.leaf, reason: leaf.need.reason, message: leaf.need.message };
    else {
      plan.deferredUntil = until;
      wake(until ?? new Date(now.getTime() + Math.max(1000, delay / 4)));
    }
  } else wake(leaf.renewAt);
  return plan;
}

/** Human words for a phase, for condition messages. */
export function describePhase(phase: CaPhase): string {
  return phase === 'Adding'
    ? 'CA rotation step 1 of 3: the new CA is being added to every trust bundle'
    : phase === 'Reissuing'
      ? 'CA rotation step 2 of 3: certificates are being re-issued under the new CA'
      : 'no CA rotation in progress';
}
