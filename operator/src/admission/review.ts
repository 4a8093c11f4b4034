// One AdmissionReview (admission.k8s.io/v1) in, its answer out: the object checked by the compiler's
// own per-object checks (compile/validate-object.ts), refused with every field that is wrong, allowed
// with the compile warnings. Pure: the HTTPS server (server.ts) only moves bytes. A body that is not a
// review throws AdmissionReviewError (the server answers 400); nothing else here throws.
import { isDeepStrictEqual } from 'node:util';
import { group } from '../api/common.ts';
import type { Diagnostic } from '../compile/diagnostics.ts';
import { validateObject } from '../compile/validate-object.ts';
import { AdmissionReviewError } from './errors.ts';
import { policySchemaProblem } from './xsd.ts';

export const admissionApiVersion = 'admission.k8s.io/v1';

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  name?: string;
  namespace?: string;
  operation?: string;
  object?: unknown;
  oldObject?: unknown;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: { code: number; reason: string; message: string };
  warnings?: string[];
}

export interface AdmissionReviewResponse {
  apiVersion: typeof admissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

/** The apiserver shows at most this much of a refusal; longer messages are cut with a count of the rest. */
const maxMessageChars = 4096;
/** Warnings are shown one per line by kubectl; Kubernetes asks for short ones, and few. */
const maxWarnings = 20;
const maxWarningChars = 256;

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a review from parsed JSON; throws AdmissionReviewError when it is not one. */
export function parseReview(body: unknown): AdmissionRequest {
  if (!isRecord(body)) throw new AdmissionReviewError('the body is not a JSON object');
  if (body.apiVersion !== admissionApiVersion || body.kind !== 'AdmissionReview')
    throw new AdmissionReviewError(`expected apiVersion ${admissionApiVersion}, kind AdmissionReview`);
  const request = body.request;
  if (!isRecord(request)) throw new AdmissionReviewError('the review has no request');
  if (typeof request.uid !== 'string' || request.uid === '')
    throw new AdmissionReviewError('the review request has no uid');
  const text = (v: unknown) => (typeof v === 'string' ? v : undefined);
  const kind = isRecord(request.kind)
    ? { group: text(request.kind.group), version: text(request.kind.version), kind: text(request.kind.kind) }
    : undefined;
  return {
    uid: request.uid,
    kind,
    name: text(request.name),
    namespace: text(request.namespace),
    operation: text(request.operation),
    object: request.object,
    oldObject: request.oldObject,
  };
}

const field = (d: Diagnostic) => (d.field ? `${d.field}: ${d.message}` : d.message);

function bounded(parts: string[], max: number): string {
  let out = '';
  for (let i = 0; i < parts.length; i++) {
    const next = out === '' ? parts[i]! : `${out}; ${parts[i]}`;
    if (next.length > max) return `${out}; and ${parts.length - i} more`;
    out = next;
  }
  return out;
}

/**
 * The object as compile would read it: the review's namespace (the object may leave it out) and name
 * (a generateName object may have none yet: the apiserver checks names, not us).
 */
function subject(request: AdmissionRequest): unknown {
  const object = request.object;
  if (!isRecord(object)) return object;
  const metadata = isRecord(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : request.name || 'unnamed';
  return {
    ...object,
    metadata: { ...metadata, name, namespace: request.namespace || metadata.namespace },
  };
}

const specOf = (o: unknown) => (isRecord(o) ? o.spec : undefined);
const deleting = (o: unknown) => isRecord(o) && isRecord(o.metadata) && o.metadata.deletionTimestamp !== undefined;

/** The answer to one review request. */
export async function review(request: AdmissionRequest): Promise<AdmissionResponse> {
  const allow: AdmissionResponse = { uid: request.uid, allowed: true };
  // Only our kinds are sent (the configuration's rules); anything else is not ours to judge.
  if (request.kind?.group !== group) return allow;
  if (request.operation !== 'CREATE' && request.operation !== 'UPDATE') return allow;
  // An update that leaves the spec as it was (labels, annotations, finalizers, an object being deleted)
  // is never refused: an object stored before the webhook existed must stay editable and deletable.
  if (
    request.operation === 'UPDATE' &&
    (deleting(request.object) || isDeepStrictEqual(specOf(request.object), specOf(request.oldObject)))
  )
    return allow;
  const object = subject(request);
  const checked = validateObject(object);
  const { warnings } = checked;
  // Only a schema the compiler accepted goes to libxml2 (no DOCTYPE, no include: xsd.ts).
  const schema = checked.errors.length === 0 ? await policySchemaProblem(object) : undefined;
  const errors: Diagnostic[] = schema
    ? [{ severity: 'error', code: 'GH_ERR_COMPILE_INVALID', field: schema.field, message: schema.message }]
    : checked.errors;
  const shownWarnings = warnings
    .slice(0, maxWarnings)
    .map((d) => field(d))
    .map((w) => (w.length > maxWarningChars ? `${w.slice(0, maxWarningChars - 3)}...` : w));
  const withWarnings = shownWarnings.length > 0 ? { warnings: shownWarnings } : {};
  if (errors.length === 0) return { ...allow, ...withWarnings };
  return {
    uid: request.uid,
    allowed: false,
    status: { code: 422, reason: 'Invalid', message: bounded(errors.map(field), maxMessageChars) },
    ...withWarnings,
  };
}

/** The review to send back for a request body (parsed JSON); throws AdmissionReviewError when it is not a review. */
export async function answer(body: unknown): Promise<AdmissionReviewResponse> {
  const request = parseReview(body);
  return { apiVersion: admissionApiVersion, kind: 'AdmissionReview', response: await review(request) };
}
