// Failures of the validating admission webhook, one class per kind with a stable code.
import { GatehouseError } from '../../../lib/errors.ts';

/** A request body that is not an admission.k8s.io/v1 AdmissionReview with a request: answered 400. */
export class AdmissionReviewError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_ADMISSION_REVIEW', message);
  }
}

/** The ValidatingWebhookConfiguration could not be read or its caBundle patched; the leader retries. */
export class WebhookCaBundleError extends GatehouseError {
  constructor(configuration: string, message: string, cause?: unknown) {
    super('GH_ERR_ADMISSION_CA_BUNDLE', `ValidatingWebhookConfiguration ${configuration}: ${message}`, { cause });
  }
}
