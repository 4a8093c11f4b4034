// Failures of the operator's Kubernetes plumbing, one class per kind of failure with a stable code.
import { GatehouseError } from '../../../lib/errors.ts';

/** No usable cluster configuration (flag, in-cluster service account, $KUBECONFIG, ~/.kube/config). Exit 2. */
export class KubeConfigError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_KUBE_CONFIG', message, { cause, exitCode: 2 });
  }
}

/** The apiserver answered with a non-2xx status (or a watch stream carried an ERROR event). */
export class KubeApiError extends GatehouseError {
  readonly method: string;
  readonly path: string;
  /** HTTP status, e.g. 404, 409, 410. */
  readonly status: number;
  /** Status.reason: NotFound, Conflict, AlreadyExists, Forbidden, Expired, Gone, ... */
  readonly reason?: string;
  /** The apiserver's own message (Status.message). */
  readonly apiMessage: string;

  constructor(init: { method: string; path: string; status: number; reason?: string; message: string }) {
    super(
      'GH_ERR_KUBE_API',
      `${init.method} ${init.path}: ${init.status}${init.reason ? ` ${init.reason}` : ''}: ${init.message}`,
    );
    this.method = init.method;
    this.path = init.path;
    this.status = init.status;
    this.reason = init.reason;
    this.apiMessage = init.message;
  }
}

/** The apiserver could not be reached, or did not answer in time: connection refused, reset, timeout. */
export class KubeConnectionError extends GatehouseError {
  readonly method: string;
  readonly path: string;
  readonly timedOut: boolean;

  constructor(init: { method: string; path: string; message: string; timedOut?: boolean; cause?: unknown }) {
    super('GH_ERR_KUBE_CONNECTION', `${init.method} ${init.path}: ${init.message}`, { cause: init.cause });
    this.method = init.method;
    this.path = init.path;
    this.timedOut = init.timedOut ?? false;
  }
}

/** A response or watch frame that is not the JSON the apiserver sends. */
export class KubeProtocolError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_KUBE_PROTOCOL', message, { cause });
  }
}

/** An informer was stopped before its first list filled the cache. */
export class InformerStoppedError extends GatehouseError {
  constructor(name: string) {
    super('GH_ERR_KUBE_INFORMER_STOPPED', `informer ${name} was stopped before it synced`);
  }
}

/** A label or field selector that does not parse, or a field selector a cache cannot evaluate. */
export class SelectorError extends GatehouseError {
  constructor(selector: string, why: string) {
    super('GH_ERR_KUBE_SELECTOR', `selector "${selector}": ${why}`);
  }
}

/** The informer factory used against its rules: one informer name for two different watches. */
export class InformerFactoryError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_KUBE_INFORMER_FACTORY', message);
  }
}

/** Leader election timings that cannot work (client-go's rules: leaseDuration > renewDeadline > retryPeriod). */
export class LeaderElectionConfigError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_KUBE_LEADER_ELECTION_CONFIG', message, { exitCode: 2 });
  }
}

/** A work queue used against its rules (run twice). */
export class WorkQueueError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_KUBE_WORKQUEUE', message);
  }
}

function statusOf(err: unknown): number | undefined {
  return err instanceof KubeApiError ? err.status : undefined;
}

export const isNotFound = (err: unknown): boolean => statusOf(err) === 404;
export const isConflict = (err: unknown): boolean =>
  statusOf(err) === 409 && (err as KubeApiError).reason !== 'AlreadyExists';
export const isAlreadyExists = (err: unknown): boolean =>
  statusOf(err) === 409 && (err as KubeApiError).reason === 'AlreadyExists';
export const isForbidden = (err: unknown): boolean => statusOf(err) === 403;
/** 410: the resourceVersion asked for is older than what the apiserver (or etcd) still has: re-list. */
export const isGone = (err: unknown): boolean => statusOf(err) === 410;
