// The remediation policy of a DataPlane: spec.remediation with the CRD's defaults filled in (an object
// read from a folder or written before a default existed may lack them), plus the operator-wide knobs
// the CRD does not carry (crash-loop threshold, deep-check threshold, force-delete bound). Pure.
import type { DataPlaneSpec } from '../api/dataplane.ts';
import { durationMs } from '../compile/durations.ts';

export interface CrashLoopPolicy {
  /** A container restarted at least this often ... (default 5) */
  restarts: number;
  /** ... and last terminated within this window, or is waiting in CrashLoopBackOff (default 10 min). */
  windowMs: number;
}

export interface ClassifyPolicy {
  /** Running but not Ready for this long (or longer) is a zombie (spec.remediation.notReadyFor, default 5m). */
  notReadyForMs: number;
  crashLoop: CrashLoopPolicy;
  /** Consecutive failed deep checks of a kubelet-Ready extproc pod before it counts as a zombie (default 3). */
  deepCheckFailures: number;
  /**
   * A pod on a node whose volumes fail to attach or mount (FailedMount, FailedAttachVolume) and that has
   * not started this long after it was scheduled is a zombie (spec.remediation.stuckCreatingFor, default 10m).
   */
  stuckCreatingForMs: number;
}

export interface RemediationPolicy extends ClassifyPolicy {
  enabled: boolean;
  dryRun: boolean;
  maxEvictionsPerHour: number;
  /** Per component: the Ready pods an action may never take the component below. */
  minAvailable: number;
  /** A pod is force-deleted only when its node has been NotReady this long, or is tainted out-of-service (default 5m). */
  forceDeleteAfterMs: number;
}

export interface OperatorRemediationDefaults {
  crashLoop?: Partial<CrashLoopPolicy>;
  deepCheckFailures?: number;
  forceDeleteAfterMs?: number;
}

export const DEFAULTS = {
  notReadyFor: '5m',
  // Longer than notReadyFor: the attach/detach controller waits 6 minutes before it force-detaches a
  // volume from a node that went away, and an attach may take minutes on some clouds.
  stuckCreatingFor: '10m',
  maxEvictionsPerHour: 1,
  minAvailable: 1,
  crashLoop: { restarts: 5, windowMs: 10 * 60_000 },
  deepCheckFailures: 3,
  forceDeleteAfterMs: 5 * 60_000,
} as const;

export function remediationPolicy(
  spec: DataPlaneSpec | undefined,
  defaults: OperatorRemediationDefaults = {},
): RemediationPolicy {
  const r = spec?.remediation ?? {};
  return {
    enabled: r.enabled ?? false,
    dryRun: r.dryRun ?? false,
    notReadyForMs: durationMs(r.notReadyFor ?? DEFAULTS.notReadyFor),
    stuckCreatingForMs: durationMs(r.stuckCreatingFor ?? DEFAULTS.stuckCreatingFor),
    maxEvictionsPerHour: r.maxEvictionsPerHour ?? DEFAULTS.maxEvictionsPerHour,
    minAvailable: r.minAvailable ?? DEFAULTS.minAvailable,
    crashLoop: { ...DEFAULTS.crashLoop, ...defaults.crashLoop },
    deepCheckFailures: defaults.deepCheckFailures ?? DEFAULTS.deepCheckFailures,
    forceDeleteAfterMs: defaults.forceDeleteAfterMs ?? DEFAULTS.forceDeleteAfterMs,
  };
}
