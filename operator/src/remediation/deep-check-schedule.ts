// Which extproc and Envoy pods to deep-check when, and what came of it. Each pod is checked at most once per
// `intervalMs`, at most `concurrency` checks at a time, so a large fleet costs a bounded trickle of
// connections. The record a pod gets (consecutive failures and the last failure) is what classify()
// reads; it lives in memory, keyed by pod uid, and is forgotten when the pod stops being a target (gone,
// or no longer Ready to the kubelet, where the NotReady rule takes over). A restart forgets it too: a
// failing pod then needs `deepCheckFailures` fresh failures, a few intervals, before it is a zombie.
import type { DeepCheckRecord } from './classify.ts';
import type { DeepCheckContext, DeepCheckResult } from './deep-check.ts';

export interface DeepCheckTarget {
  /** The pod's uid. */
  id: string;
  ip: string;
  /** The DataPlane it belongs to, "namespace/name": what to reconcile when its record changes. */
  dataPlane: string;
  /** Which check (default extproc). */
  component?: 'extproc' | 'envoy';
  /** Envoy: the listener a health route is asked on (the DataPlane's first). */
  listener?: { port: number; tls: boolean };
}

export interface PodChecker {
  check(ip: string, target?: DeepCheckContext & { listener?: DeepCheckTarget['listener'] }): Promise<DeepCheckResult>;
}

export interface DeepCheckScheduleOptions {
  /** extproc pods' check. */
  checker: PodChecker;
  /** Envoy pods' check; without it Envoy pods are not checked. */
  envoyChecker?: PodChecker;
  /** Default 30 s. */
  intervalMs?: number;
  /** Default 4. */
  concurrency?: number;
  now?: () => number;
  onResult?: (target: DeepCheckTarget, result: DeepCheckResult) => void;
}

interface State extends DeepCheckRecord {
  lastCheckedAt: number;
}

export class DeepCheckSchedule {
  readonly intervalMs: number;
  private readonly o: DeepCheckScheduleOptions;
  private readonly concurrency: number;
  private readonly now: () => number;
  private readonly states = new Map<string, State>();

  constructor(options: DeepCheckScheduleOptions) {
    this.o = options;
    this.intervalMs = options.intervalMs ?? 30_000;
    this.concurrency = Math.max(1, options.concurrency ?? 4);
    this.now = options.now ?? Date.now;
  }

  /** What classify() gets for the pod; undefined before its first check. */
  record(id: string): DeepCheckRecord | undefined {
    const s = this.states.get(id);
    return s && { consecutiveFailures: s.consecutiveFailures, message: s.message };
  }

  /**
   * Checks the targets that are due and forgets pods that are not targets any more. Resolves with the
   * DataPlanes (keys) of pods whose record changed.
   */
  async run(targets: readonly DeepCheckTarget[]): Promise<Set<string>> {
    const wanted = new Set(targets.map((t) => t.id));
    for (const id of this.states.keys()) if (!wanted.has(id)) this.states.delete(id);
    const now = this.now();
    const due = targets.filter((t) => {
      const s = this.states.get(t.id);
      return !s || now - s.lastCheckedAt >= this.intervalMs;
    });
    const changed = new Set<string>();
    let next = 0;
    const worker = async () => {
      while (next < due.length) {
        const target = due[next++]!;
        const slash = target.dataPlane.indexOf('/');
        const checker = target.component === 'envoy' ? this.o.envoyChecker : this.o.checker;
        if (!checker) continue;
        const result = await checker.check(target.ip, {
          namespace: target.dataPlane.slice(0, slash),
          dataPlane: target.dataPlane.slice(slash + 1),
          ...(target.listener ? { listener: target.listener } : {}),
        });
        this.o.onResult?.(target, result);
        const before = this.states.get(target.id);
        const failures = result.ok ? 0 : (before?.consecutiveFailures ?? 0) + 1;
        const message = result.ok ? (before?.message ?? '') : result.message;
        if ((before?.consecutiveFailures ?? 0) !== failures) changed.add(target.dataPlane);
        this.states.set(target.id, { consecutiveFailures: failures, message, lastCheckedAt: this.now() });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, due.length) }, worker));
    return changed;
  }
}
