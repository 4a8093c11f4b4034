// The snapshot pipeline, one for both modes: on a change of its source (debounced), compile what the
// source holds, keeping the last accepted revision of objects that turned invalid; look up the SDS
// secrets the result names; log new diagnostics once; publish to the xDS server; tell the compiled-
// state listeners (status and DataPlane controllers, certificates). Folder mode feeds it a
// FolderSource (source/watch-folder.ts), kube mode the informers (controllers/snapshot.ts).
import { isDeepStrictEqual } from 'node:util';
import type { Logger } from '../../../lib/log.ts';
import type { CompileOptions, DebugSessionOutcome, Snapshot } from '../compile/compile.ts';
import { incumbentsOf } from '../compile/incumbents.ts';
import {
  acceptedFromStatus,
  compileKeepingLastAccepted,
  type AcceptedRevision,
  type ObjectOutcome,
} from '../controllers/last-accepted.ts';
import { proxyRevisions, RevisionHistory, servedBy, type ServedBy } from '../controllers/object-status.ts';
import type { XdsControlPlane } from '../xds/control-plane.ts';
import type { XdsMetrics } from '../xds/metrics.ts';
import { sdsSecretsFor, type SdsProblem } from '../xds/sds.ts';
import { DiagnosticLog } from './diagnostics.ts';
import type { SnapshotSource } from './source.ts';
import { traced } from '../tracing.ts';

/** What the last rebuild produced, for the status and DataPlane controllers. */
export interface CompiledState {
  version: string;
  /** The published snapshot. */
  snapshot: Snapshot;
  outcomes: ReadonlyMap<string, ObjectOutcome>;
  /** Per proxy ("namespace/name"), the revision the current snapshot has. */
  revisions: ReadonlyMap<string, string>;
  /** Per proxy, the DataPlanes serving it (their nodes report on it). */
  servedBy: ServedBy;
  /** Keys of objects whose outcome differs from the previous rebuild's. */
  changed: ReadonlySet<string>;
  /** Keys of objects served at their last accepted revision instead of the current one. */
  fallbacks: ReadonlySet<string>;
  /** The last accepted revision of each object (what status.lastAccepted records in kube mode). */
  lastAccepted: ReadonlyMap<string, AcceptedRevision>;
  /** Every DebugSession's outcome (the debug session controller writes them to status). */
  debugSessions: readonly DebugSessionOutcome[];
}

export interface SnapshotPipelineOptions {
  source: SnapshotSource;
  controlPlane: Pick<XdsControlPlane, 'publish'>;
  log: Logger;
  /** Compile options besides what the source provides (extProc, ...). Called on every rebuild. */
  compileOptions?: () => Omit<CompileOptions, 'serviceEndpoints' | 'credentialHashKey' | 'incumbents'>;
  /** Quiet time before a rebuild (default 100 ms), and the longest a stream of changes can delay one (1 s). */
  debounceMs?: number;
  maxDelayMs?: number;
  /**
   * Where what serves now is read from: the last published snapshot and this process's memory (folder
   * mode, one process), or the objects' status (kube mode, so that every replica, and a restarted one,
   * compiles the same snapshot): who holds a contested route or consumer key (docs/tenancy.md) and
   * the last accepted revisions. Default: the served snapshot.
   */
  holdersFrom?: 'served-snapshot' | 'object-status';
  /** Ends the warning about an SDS secret that cannot be served (what to check in this mode). */
  sdsHint?: string;
  /** Compile duration and rejected objects (the xDS server's registry, on the operator's /metrics). */
  metrics?: Pick<XdsMetrics, 'compiled'>;
}

export class SnapshotPipeline {
  readonly history = new RevisionHistory();
  private readonly options: SnapshotPipelineOptions;
  private readonly diagnostics: DiagnosticLog;
  private lastAccepted = new Map<string, AcceptedRevision>();
  private state: CompiledState | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** Rebuilds when the next active debug session expires, so it leaves the snapshot. */
  private expiryTimer: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  private readonly listeners = new Set<(state: CompiledState) => void>();
  private unsubscribe: (() => void) | undefined;

  constructor(options: SnapshotPipelineOptions) {
    this.options = options;
    this.diagnostics = new DiagnosticLog(options.log, options.sdsHint);
  }

  /** Subscribes to the source and compiles once now (call once the source holds its first state). */
  start(): void {
    this.unsubscribe = this.options.source.onChange(() => this.changed());
    this.rebuild();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
  }

  current(): CompiledState | undefined {
    return this.state;
  }

  onCompiled(listener: (state: CompiledState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** A change of the source: rebuild after the quiet time, or at most maxDelayMs after the first one. */
  changed(): void {
    const now = performance.now();
    this.firstPending ??= now;
    if (this.timer) clearTimeout(this.timer);
    const debounce = this.options.debounceMs ?? 100;
    const wait = Math.max(0, Math.min(debounce, this.firstPending + (this.options.maxDelayMs ?? 1_000) - now));
    this.timer = setTimeout(() => this.rebuild(), wait);
  }

  private scheduleExpiry(sessions: readonly DebugSessionOutcome[]): void {
    if (this.expiryTimer) clearTimeout(this.expiryTimer);
    this.expiryTimer = undefined;
    const next = Math.min(...sessions.filter((s) => s.phase === 'Active').map((s) => s.expiresAtMs ?? Infinity));
    if (!Number.isFinite(next)) return;
    // A little after: compile ends a session at now >= its expiry; a timer that fires early sets another.
    const wait = Math.min(Math.max(0, next - Date.now()) + 50, 2 ** 31 - 1);
    this.expiryTimer = setTimeout(() => this.changed(), wait);
    this.expiryTimer.unref();
  }

  /** Compiles the source's objects and publishes. Never throws: a snapshot that fails to encode keeps the old one serving. */
  rebuild(): void {
    traced('snapshot rebuild', {}, () => this.rebuildNow());
  }

  private rebuildNow(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.firstPending = undefined;
    const { source, controlPlane, log } = this.options;
    const started = performance.now();
    const objects = source.objects();
    let compiled;
    try {
      // Kube mode: the last accepted revisions the cluster keeps (status.lastAccepted) come first, so
      // every replica, and one just started, falls back to the same revision.
      const previous =
        this.options.holdersFrom === 'object-status'
          ? new Map([...this.lastAccepted, ...acceptedFromStatus(objects)])
          : this.lastAccepted;
      compiled = traced('compile', { 'gatehouse.objects': String(objects.length) }, () =>
        compileKeepingLastAccepted(objects, previous, {
          ...this.options.compileOptions?.(),
          credentialHashKey: source.credentialHashKey(),
          // Which debug sessions are still within their timeout (the expiry timer below rebuilds).
          now: Date.now(),
          serviceEndpoints: source.serviceEndpoints(),
          // What serves keeps its routes and keys against newcomers (docs/tenancy.md).
          ...(this.options.holdersFrom === 'object-status'
            ? {}
            : { incumbents: incumbentsOf(this.state?.snapshot.runtime) }),
        }),
      );
    } catch (err) {
      this.options.metrics?.compiled((performance.now() - started) / 1000);
      log.error({ err: (err as Error).message }, 'compile failed; still serving the previous snapshot');
      return;
    }
    this.options.metrics?.compiled((performance.now() - started) / 1000, compiled.errors);
    const { snapshot } = compiled.result;
    // The Secrets the listeners and clusters name go out over SDS, never in the snapshot.
    const sds: SdsProblem[] = [];
    const secrets = sdsSecretsFor(snapshot, source.secretLookup, (p) => sds.push(p));
    this.diagnostics.report({
      source: source.diagnostics(),
      compile: [...compiled.errors, ...compiled.warnings],
      fallbacks: compiled.fallbacks,
      sds,
    });
    try {
      traced('publish', { 'gatehouse.version': snapshot.version }, () => controlPlane.publish(snapshot, secrets));
    } catch (err) {
      log.error(
        { err: (err as Error).message, code: (err as { code?: string }).code },
        'compiled snapshot does not encode; still serving the previous one',
      );
      return;
    }
    this.lastAccepted = compiled.lastAccepted;
    const revisions = proxyRevisions(snapshot);
    this.history.record(snapshot.version, revisions);
    const changed = new Set<string>();
    const before = this.state;
    for (const [key, outcome] of compiled.outcomes) {
      const old = before?.outcomes.get(key);
      const proxy = `${outcome.id.namespace}/${outcome.id.name}`;
      if (
        !old ||
        !isDeepStrictEqual(old, outcome) ||
        (outcome.id.kind === 'ApiProxy' && before?.revisions.get(proxy) !== revisions.get(proxy))
      )
        changed.add(key);
    }
    this.state = {
      version: snapshot.version,
      snapshot,
      outcomes: compiled.outcomes,
      revisions,
      servedBy: servedBy(snapshot),
      changed,
      fallbacks: new Set(compiled.fallbacks.keys()),
      lastAccepted: compiled.lastAccepted,
      debugSessions: compiled.result.debugSessions,
    };
    this.scheduleExpiry(compiled.result.debugSessions);
    log.debug(
      {
        version: snapshot.version,
        objects: compiled.outcomes.size,
        changed: changed.size,
        fallbacks: compiled.fallbacks.size,
        ms: Math.round(performance.now() - started),
      },
      'compiled',
    );
    for (const listener of this.listeners) {
      try {
        listener(this.state);
      } catch (err) {
        log.error({ err: (err as Error).message }, 'compiled-state listener failed');
      }
    }
  }
}
