// Leader election on a coordination.k8s.io/v1 Lease with client-go's leaderelection semantics.
//
// Every replica tries to acquire or renew every retryPeriod (jittered while acquiring). A Lease is free
// when its holderIdentity is empty, or when this replica has seen the same record, unchanged, for
// longer than its leaseDurationSeconds, measured on the local monotonic clock since the record last
// changed: remote timestamps are never compared with the local clock, so clock skew between nodes
// cannot make two leaders. Every write is an update with the resourceVersion that was read (a 409 means
// another replica won the round). The leader renews; when it cannot renew within renewDeadline (which
// is shorter than leaseDuration) it stops leading before anyone else may take over. It also steps down
// at once when it sees another holder in the Lease. Verbs: get, create, update.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../../../lib/log.ts';
import { LeaderElectionConfigError, isNotFound } from './errors.ts';
import type { KubeMetrics } from './metrics.ts';
import { microTime, resourcePath, type KubeRest } from './rest.ts';

export { microTime };

export interface LeaderElectionOptions {
  rest: KubeRest;
  namespace: string;
  name: string;
  /** Unique per replica: the pod name (plus a random suffix when a pod may restart in place). */
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  log: Logger;
  /** Called when this replica becomes the leader. May be called again after a step-down and a re-election. */
  onStartedLeading: () => void;
  /** Called when this replica stops leading (renewal failed, another holder seen, or stop()). */
  onStoppedLeading: () => void;
  /** Called when the observed holder changes (including to this replica). */
  onNewLeader?: (identity: string) => void;
  /** On stop() while leading, empty the Lease (leaseDurationSeconds 1) so another replica takes over at once. Default true. */
  releaseOnStop?: boolean;
  metrics?: KubeMetrics;
  /** Monotonic clock in ms (tests). */
  now?: () => number;
}

export interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  /** client-go's LeaderElectionRecord.LeaderTransitions: incremented on every takeover. */
  leaseTransitions?: number;
  [field: string]: unknown;
}

export interface Lease {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; resourceVersion?: string; [field: string]: unknown };
  spec?: LeaseSpec;
}

/** client-go's JitterFactor for the acquire loop: waits retryPeriod * (1 + random * 1.2). */
export const ACQUIRE_JITTER_FACTOR = 1.2;

/** client-go's NewLeaderElector checks. */
export function validateTimings(t: { leaseDurationMs: number; renewDeadlineMs: number; retryPeriodMs: number }): void {
  if (!(t.retryPeriodMs > 0) || !(t.renewDeadlineMs > 0) || !(t.leaseDurationMs > 0)) {
    throw new LeaderElectionConfigError('leaseDuration, renewDeadline and retryPeriod must be positive');
  }
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new LeaderElectionConfigError(
      `leaseDuration (${t.leaseDurationMs} ms) must be greater than renewDeadline (${t.renewDeadlineMs} ms)`,
    );
  }
  if (t.renewDeadlineMs <= ACQUIRE_JITTER_FACTOR * t.retryPeriodMs) {
    throw new LeaderElectionConfigError(
      `renewDeadline (${t.renewDeadlineMs} ms) must be greater than ${ACQUIRE_JITTER_FACTOR} x retryPeriod (${t.retryPeriodMs} ms)`,
    );
  }
  if (t.leaseDurationMs < 1000)
    throw new LeaderElectionConfigError('leaseDuration must be at least 1 s (the Lease counts whole seconds)');
}

/**
 * What this replica has seen of the Lease: the record and when (local monotonic clock) it last
 * changed. The Lease is held by its holder until the record has stayed unchanged for its
 * leaseDurationSeconds.
 */
export class LeaseObservation {
  private record?: string;
  private changedAt = 0;
  private spec?: LeaseSpec;

  /** Records what was read or written at `now`; returns whether the record changed. */
  observe(spec: LeaseSpec | undefined, now: number): boolean {
    const record = recordKey(spec);
    this.spec = spec;
    if (record === this.record) return false;
    this.record = record;
    this.changedAt = now;
    return true;
  }

  get holder(): string | undefined {
    return this.spec?.holderIdentity || undefined;
  }

  get seen(): boolean {
    return this.record !== undefined;
  }

  /** True while the holder's term, as observed locally, has not run out. */
  valid(now: number, fallbackDurationMs: number): boolean {
    if (this.record === undefined) return false;
    const seconds = this.spec?.leaseDurationSeconds;
    const durationMs = typeof seconds === 'number' && seconds > 0 ? seconds * 1000 : fallbackDurationMs;
    return this.changedAt + durationMs > now;
  }
}

/** The fields of the leader election record, in a fixed order (the raw-record comparison of client-go). */
function recordKey(spec: LeaseSpec | undefined): string {
  return JSON.stringify([
    spec?.holderIdentity ?? '',
    spec?.leaseDurationSeconds ?? 0,
    spec?.acquireTime ?? '',
    spec?.renewTime ?? '',
    spec?.leaseTransitions ?? 0,
  ]);
}

type Attempt = 'ok' | 'failed' | 'held';

export class LeaderElector {
  private readonly o: Required<
    Pick<LeaderElectionOptions, 'leaseDurationMs' | 'renewDeadlineMs' | 'retryPeriodMs' | 'releaseOnStop'>
  > &
    LeaderElectionOptions;
  private readonly log: Logger;
  private readonly now: () => number;
  private readonly path: string;
  private readonly observation = new LeaseObservation();
  /** The Lease as last read or written (its resourceVersion is what the next update is conditional on). */
  private lease?: Lease;
  private leading = false;
  private running = false;
  private reported?: string;
  private abort?: AbortController;
  private loop?: Promise<void>;

  constructor(options: LeaderElectionOptions) {
    this.o = {
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnStop: true,
      ...options,
    };
    validateTimings(this.o);
    if (!options.identity) throw new LeaderElectionConfigError('leader election needs an identity');
    this.log = options.log.child({ lease: `${options.namespace}/${options.name}`, identity: options.identity });
    this.now = options.now ?? (() => performance.now());
    this.path = resourcePath({
      group: 'coordination.k8s.io',
      version: 'v1',
      resource: 'leases',
      namespace: options.namespace,
      name: options.name,
    });
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops campaigning; a leader calls onStoppedLeading, then releases the Lease (releaseOnStop). */
  async stop(): Promise<void> {
    if (!this.loop) return;
    this.running = false;
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The holder of the Lease as last observed. */
  get leader(): string | undefined {
    return this.observation.holder;
  }

  private async run(signal: AbortSignal): Promise<void> {
    while (this.running) {
      if (!(await this.acquire(signal))) break;
      this.transition(true, 'acquired the lease');
      const why = await this.renew(signal);
      this.transition(false, why);
      if (!this.running) {
        if (this.o.releaseOnStop) await this.release();
        break;
      }
    }
  }

  private transition(leading: boolean, why: string): void {
    this.leading = leading;
    this.o.metrics?.leader.set({ lease: `${this.o.namespace}/${this.o.name}` }, leading ? 1 : 0);
    if (leading) this.log.info('started leading: ' + why);
    else if (this.running) this.log.warn('stopped leading: ' + why);
    else this.log.info('stopped leading: ' + why);
    this.callback(leading ? 'onStartedLeading' : 'onStoppedLeading', () =>
      leading ? this.o.onStartedLeading() : this.o.onStoppedLeading(),
    );
  }

  /** Tries every retryPeriod (jittered) until the Lease is ours; false when stopped. */
  private async acquire(signal: AbortSignal): Promise<boolean> {
    while (this.running) {
      if ((await this.tryAcquireOrRenew(this.o.renewDeadlineMs, signal)) === 'ok') return true;
      const wait = this.o.retryPeriodMs * (1 + Math.random() * ACQUIRE_JITTER_FACTOR);
      if (!(await this.pause(wait, signal))) return false;
    }
    return false;
  }

  /** Renews every retryPeriod; returns why leadership ended. */
  private async renew(signal: AbortSignal): Promise<string> {
    for (;;) {
      const deadline = this.now() + this.o.renewDeadlineMs;
      let attempt: Attempt;
      // client-go's PollImmediateUntil(retryPeriod, tryAcquireOrRenew, renewDeadline).
      for (;;) {
        if (!this.running) return 'stopping';
        attempt = await this.tryAcquireOrRenew(Math.max(1, deadline - this.now()), signal);
        if (attempt !== 'failed' || !this.running) break;
        const left = deadline - this.now();
        if (left <= 0) break;
        if (!(await this.pause(Math.min(this.o.retryPeriodMs, left), signal))) return 'stopping';
        if (this.now() >= deadline) break;
      }
      if (!this.running) return 'stopping';
      if (attempt === 'held') return `the lease is held by ${this.observation.holder}`;
      if (attempt === 'failed') return `could not renew the lease within ${this.o.renewDeadlineMs} ms`;
      if (!(await this.pause(this.o.retryPeriodMs, signal))) return 'stopping';
    }
  }

  /** One round: 'ok' when the Lease is ours after it, 'held' when another holder's term runs, else 'failed'. */
  private async tryAcquireOrRenew(timeoutMs: number, signal: AbortSignal): Promise<Attempt> {
    const now = this.now();
    const stamp = microTime(new Date());
    const durationSeconds = Math.max(1, Math.floor(this.o.leaseDurationMs / 1000));

    // Fast path: a leader whose term has not run out updates from what it wrote last, without a get.
    if (this.leading && this.lease && this.observation.valid(now, this.o.leaseDurationMs)) {
      const renewed = {
        ...this.lease,
        spec: {
          ...this.lease.spec,
          holderIdentity: this.o.identity,
          leaseDurationSeconds: durationSeconds,
          renewTime: stamp,
        },
      };
      try {
        this.observed(await this.o.rest.replace<Lease>(this.path, renewed, { timeoutMs, signal }), now);
        return 'ok';
      } catch (err) {
        if (signal.aborted) return 'failed';
        this.log.debug({ err: message(err) }, 'optimistic lease renewal failed; reading the lease');
      }
    }

    let current: Lease;
    try {
      current = await this.o.rest.get<Lease>(this.path, { timeoutMs, signal });
    } catch (err) {
      if (!isNotFound(err)) {
        if (!signal.aborted) this.log.warn({ err: message(err) }, 'cannot read the lease');
        return 'failed';
      }
      const lease: Lease = {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.o.name, namespace: this.o.namespace },
        spec: {
          holderIdentity: this.o.identity,
          leaseDurationSeconds: durationSeconds,
          acquireTime: stamp,
          renewTime: stamp,
          leaseTransitions: 0,
        },
      };
      try {
        this.observed(
          await this.o.rest.create<Lease>(this.path.slice(0, this.path.lastIndexOf('/')), lease, { timeoutMs, signal }),
          now,
        );
        return 'ok';
      } catch (createErr) {
        if (!signal.aborted) this.log.info({ err: message(createErr) }, 'cannot create the lease');
        return 'failed';
      }
    }

    this.observed(current, now);
    const holder = current.spec?.holderIdentity;
    if (holder && holder !== this.o.identity && this.observation.valid(now, this.o.leaseDurationMs)) return 'held';

    const ours = holder === this.o.identity;
    const spec: LeaseSpec = {
      ...current.spec,
      holderIdentity: this.o.identity,
      leaseDurationSeconds: durationSeconds,
      renewTime: stamp,
      acquireTime: ours ? (current.spec?.acquireTime ?? stamp) : stamp,
      leaseTransitions: (current.spec?.leaseTransitions ?? 0) + (ours ? 0 : 1),
    };
    try {
      this.observed(await this.o.rest.replace<Lease>(this.path, { ...current, spec }, { timeoutMs, signal }), now);
      if (!ours)
        this.log.info({ previous: holder || undefined, transitions: spec.leaseTransitions }, 'took over the lease');
      return 'ok';
    } catch (err) {
      // 409: another replica wrote first this round.
      if (!signal.aborted) this.log.info({ err: message(err) }, 'cannot update the lease');
      return 'failed';
    }
  }

  /** Empties the Lease so the next replica does not wait out the term. Only when it is still ours. */
  private async release(): Promise<void> {
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const current = await this.o.rest.get<Lease>(this.path, { timeoutMs: this.o.renewDeadlineMs });
        if (current.spec?.holderIdentity !== this.o.identity) return;
        const stamp = microTime(new Date());
        const spec: LeaseSpec = {
          ...current.spec,
          holderIdentity: '',
          leaseDurationSeconds: 1,
          acquireTime: stamp,
          renewTime: stamp,
        };
        this.observed(
          await this.o.rest.replace<Lease>(this.path, { ...current, spec }, { timeoutMs: this.o.renewDeadlineMs }),
          this.now(),
        );
        this.log.info('released the lease');
        return;
      } catch (err) {
        this.log.warn({ err: message(err) }, 'cannot release the lease');
      }
    }
  }

  private observed(lease: Lease, now: number): void {
    this.lease = lease;
    this.observation.observe(lease.spec, now);
    const holder = this.observation.holder;
    if (holder && holder !== this.reported) {
      this.reported = holder;
      this.log.info({ leader: holder }, 'new leader observed');
      const onNewLeader = this.o.onNewLeader;
      if (onNewLeader) this.callback('onNewLeader', () => onNewLeader(holder));
    }
  }

  /** Waits; false when stopped meanwhile. */
  private async pause(ms: number, signal: AbortSignal): Promise<boolean> {
    try {
      await sleep(ms, undefined, { signal });
      return this.running;
    } catch {
      return false;
    }
  }

  private callback(name: string, fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: message(err) }, `${name} failed`);
    }
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
