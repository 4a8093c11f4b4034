// Kube mode's snapshot pipeline: the kube source's caches as a SnapshotSource (pipeline/source.ts),
// rebuilt on any change that can alter the snapshot (status-only updates and kinds compile does not
// read excluded). The pipeline itself (debounce, last accepted revisions, SDS, diagnostics, publish)
// is the folder mode's too (pipeline/pipeline.ts). Every replica runs it: every replica serves xDS
// (docs/architecture.md#the-operator); only the leader writes status.
import type { Logger } from '../../../lib/log.ts';
import type { CompileOptions } from '../compile/compile.ts';
import { SnapshotPipeline, type SnapshotPipelineOptions } from '../pipeline/pipeline.ts';
import type { SnapshotSource } from '../pipeline/source.ts';
import type { KubeSource } from '../source/kube.ts';
import type { XdsControlPlane } from '../xds/control-plane.ts';
import type { SecretLike } from '../xds/sds.ts';

export type { CompiledState } from '../pipeline/pipeline.ts';

const compileKinds = new Set([
  'ApiProxy',
  'ApiPolicy',
  'ApiProduct',
  'Developer',
  'DeveloperApp',
  'DataPlane',
  'KeyValueMap',
  'SharedFlow',
  'DebugSession',
  'Secret',
  'ConfigMap',
  'Service',
  'EndpointSlice',
]);

/** The kube source's informer caches as the pipeline reads them. */
export function kubeSnapshotSource(
  source: Pick<KubeSource, 'objects' | 'onChange' | 'credentialHashKey' | 'serviceEndpoints' | 'get'>,
): SnapshotSource {
  return {
    objects: () => source.objects(),
    diagnostics: () => [],
    onChange: (handler) =>
      source.onChange((change) => {
        // A DebugSession's status is an input too: captured reaching count ends the session.
        if (compileKinds.has(change.kind) && (!change.statusOnly || change.kind === 'DebugSession')) handler();
      }),
    credentialHashKey: () => source.credentialHashKey(),
    serviceEndpoints: () => source.serviceEndpoints(),
    secretLookup: (namespace, name) => source.get('Secret', namespace, name) as SecretLike | undefined,
  };
}

export interface SnapshotControllerOptions {
  source: Parameters<typeof kubeSnapshotSource>[0];
  controlPlane: Pick<XdsControlPlane, 'publish'>;
  log: Logger;
  /** Compile duration and rejected objects. */
  metrics?: SnapshotPipelineOptions['metrics'];
  /** Compile options besides what the source provides (extProc, ...). Called on every rebuild. */
  compileOptions: () => Omit<CompileOptions, 'serviceEndpoints' | 'credentialHashKey'>;
  /** Quiet time before a rebuild, and the longest a stream of changes can delay one. */
  debounceMs?: number;
  maxDelayMs?: number;
}

/** The pipeline over the kube source (start it after the informers have synced). */
export class SnapshotController extends SnapshotPipeline {
  constructor(options: SnapshotControllerOptions) {
    super({
      ...options,
      source: kubeSnapshotSource(options.source),
      holdersFrom: 'object-status',
      sdsHint: '; label the Secret gatehouse.dev/credential',
    });
  }
}
