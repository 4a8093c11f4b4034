// Failures of remediation, one class per kind, with stable codes.
import { GatehouseError } from '../../../lib/errors.ts';

/** A deep check of an extproc pod failed at one stage (health, ext_proc). Carried as a result, never thrown out of the checker. */
export class DeepCheckFailure extends GatehouseError {
  readonly stage: 'health' | 'ext_proc';

  constructor(stage: 'health' | 'ext_proc', detail: string) {
    super('GH_ERR_REMEDIATION_DEEP_CHECK', `${stage}: ${detail}`);
    this.stage = stage;
  }
}

/** Some of a reconcile's remediation actions failed (other than a PDB's refusal); thrown after status is written, so the queue retries. */
export class RemediationActionError extends GatehouseError {
  constructor(message: string, cause?: unknown) {
    super('GH_ERR_REMEDIATION_ACTION', message, { cause });
  }
}
