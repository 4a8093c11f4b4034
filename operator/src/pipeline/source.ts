// What the snapshot pipeline reads: one interface over the folder source (source/watch-folder.ts) and
// the kube source (controllers/snapshot.ts adapts source/kube.ts). Everything is read synchronously
// at rebuild time from the source's current state; onChange only says that a rebuild is due.
import type { Diagnostic } from '../compile/diagnostics.ts';
import type { SourceObject } from '../compile/intake.ts';
import type { IrEndpoint } from '../compile/ir.ts';
import type { SecretLookup } from '../xds/sds.ts';

export interface SnapshotSource {
  /** Every object compile reads: our kinds and Secrets, as the source holds them now. */
  objects(): readonly SourceObject[];
  /**
   * Problems of the source itself, not of any object: files that cannot be read or do not parse, a
   * folder that went away (folder mode); none in a cluster, where the apiserver parsed everything.
   */
  diagnostics(): readonly Diagnostic[];
  /** Subscribes to changes that can alter the snapshot; returns the unsubscribe. */
  onChange(handler: () => void): () => void;
  /** The HMAC key for consumer credentials; undefined means compile's development key (with a warning). */
  credentialHashKey(): string | undefined;
  /**
   * Ready endpoints of Services by "namespace/name:port": a cluster's EndpointSlices; in folder mode
   * what the caller gives (`gatehouse dev`: its demo upstream), else undefined.
   */
  serviceEndpoints(): Readonly<Record<string, IrEndpoint[]>> | undefined;
  /** The Secrets the compiled listeners and clusters name, for SDS. */
  readonly secretLookup: SecretLookup;
}
