// Rebuilds the snapshot from the kube source's caches on any change that can alter it (debounced),
// keeps the last accepted revision of objects that turned invalid, and publishes to the xDS server.
// Every replica runs it: every replica serves xDS (DESIGN 9); only the leader writes status.
import type { Logger } from '../../../lib/log.ts';
import type { CompileOptions, Snapshot } from '../compile/compile.ts';
import { formatDiagnostic } from '../compile/diagnostics.ts';
import type { KubeSource, SourceChange } from '../source/kube.ts';
import type { XdsControlPlane } from '../xds/control-plane.ts';
import { sdsSecretsFor, secretLookupFromObjects, type SdsProblem } from '../xds/sds.ts';
import { compileKeepingLastAccepted, type AcceptedRevision, type ObjectOutcome } from './last-accepted.ts';
import { proxyRevisions, RevisionHistory } from './object-status.ts';

/** What the last rebuild produced, for the status and DataPlane controllers. */
export interface CompiledState {
  version: string;
  /** The published snapshot. */
  snapshot: Snapshot;
  outcomes: ReadonlyMap<string, ObjectOutcome>;
  /** Per proxy ("namespace/name"), the revision the current snapshot has. */
  revisions: ReadonlyMap<string, string>;
  /** Keys of objects whose outcome differs from the previous rebuild's. */
  changed: ReadonlySet<string>;
}

const compileKinds = new Set([
  'ApiProxy',
  'ApiPolicy',
  'ApiProduct',
  'DeveloperApp',
  'DataPlane',
  'Secret',
  'Service',
  'EndpointSlice',
]);

export interface SnapshotControllerOptions {
  source: KubeSource;
  controlPlane: XdsControlPlane;
  log: Logger;
  /** Compile options besides what the source provides (extProc, ...). Called on every rebuild. */
  compileOptions: () => Omit<CompileOptions, 'serviceEndpoints' | 'credentialHashKey'>;
  /** Quiet time before a rebuild, and the longest a stream of changes can delay one. */
  debounceMs?: number;
  maxDelayMs?: number;
}

export class SnapshotController {
  readonly history = new RevisionHistory();
  private readonly options: SnapshotControllerOptions;
  private lastAccepted = new Map<string, AcceptedRevision>();
  private state: CompiledState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private firstPending: number | undefined;
  private readonly listeners = new Set<(state: CompiledState) => void>();
  private unsubscribe: (() => void) | undefined;
  private previousErrors = new Set<string>();
  private readonly sdsProblems = new Set<string>();

  constructor(options: SnapshotControllerOptions) {
    this.options = options;
  }

  /** Subscribes to the source and compiles once now (call after the source has synced). */
  start(): void {
    this.unsubscribe = this.options.source.onChange((change) => this.changed(change));
    this.rebuild();
  }

  stop(): void {
    this.unsubscribe?.();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  current(): CompiledState | undefined {
    return this.state;
  }

  onCompiled(listener: (state: CompiledState) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private changed(change: SourceChange): void {
    if (!compileKinds.has(change.kind) || change.statusOnly) return;
    const now = performance.now();
    this.firstPending ??= now;
    if (this.timer) clearTimeout(this.timer);
    const debounce = this.options.debounceMs ?? 100;
    const wait = Math.max(0, Math.min(debounce, this.firstPending + (this.options.maxDelayMs ?? 1_000) - now));
    this.timer = setTimeout(() => this.rebuild(), wait);
  }

  /** Compiles the caches and publishes. Never throws: a snapshot that fails to encode keeps the old one serving. */
  rebuild(): void {
    this.timer = undefined;
    this.firstPending = undefined;
    const { source, controlPlane, log } = this.options;
    const started = performance.now();
    let compiled;
    try {
      compiled = compileKeepingLastAccepted(source.objects(), this.lastAccepted, {
        ...this.options.compileOptions(),
        credentialHashKey: source.credentialHashKey(),
        serviceEndpoints: source.serviceEndpoints(),
      });
    } catch (err) {
      log.error({ err: (err as Error).message }, 'compile failed; still serving the previous snapshot');
      return;
    }
    this.logErrors(compiled.result.errors.map(formatDiagnostic));
    const { snapshot } = compiled.result;
    // The Secrets the listeners and clusters name go out over SDS, never in the snapshot.
    const secrets = sdsSecretsFor(snapshot, secretLookupFromObjects(source.objects()), (p) => this.logSdsProblem(p));
    try {
      controlPlane.publish(snapshot, secrets);
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
        JSON.stringify(old) !== JSON.stringify(outcome) ||
        (outcome.id.kind === 'ApiProxy' && before?.revisions.get(proxy) !== revisions.get(proxy))
      )
        changed.add(key);
    }
    this.state = { version: snapshot.version, snapshot, outcomes: compiled.outcomes, revisions, changed };
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

  private logSdsProblem(p: SdsProblem): void {
    const line = `${p.resource} ${p.secret}: ${p.reason}`;
    if (this.sdsProblems.has(line)) return;
    this.sdsProblems.add(line);
    if (this.sdsProblems.size > 1_000) this.sdsProblems.clear();
    this.options.log.warn(
      { secret: p.secret, sds: p.resource, reason: p.reason },
      'SDS secret not served (Envoy keeps the last good one, or waits); label the Secret gatehouse.dev/credential',
    );
  }

  /** Each error once, when it first appears. */
  private logErrors(lines: string[]): void {
    const current = new Set(lines);
    for (const line of lines)
      if (!this.previousErrors.has(line)) this.options.log.warn(`${line} (left out; the rest ships)`);
    this.previousErrors = current;
  }
}
