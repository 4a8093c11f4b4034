// What the traffic policies share: resolving their literal-or-ref numbers and identifiers, store keys
// scoped by namespace, turning an unavailable shared store into a 503 fault, and running an
// admission step (SpikeArrest, Quota) on its own.
import { PolicyFault, withStore } from '../../flow/faults.ts';
import type { Admission, PolicyContext, PolicyMeta, PolicyStep } from '../../flow/types.ts';
import { applyAdmissionOp } from '../../stores/memory.ts';
import type { RefOr } from '../../../../protos/policies/schema.ts';

export { STORE_UNAVAILABLE_CODE, withStore } from '../../flow/faults.ts';

/**
 * The step of a policy whose work is one admission op: plan, the store's single call, settle. It
 * carries its admission so the flow compiler can merge it with its neighbours (flow/admission.ts).
 */
export function admissionStep(admission: Admission): PolicyStep {
  const step = async (ctx: PolicyContext): Promise<undefined> => {
    const plan = admission.plan(ctx);
    // On its own, the step makes the single call it always made (bucket.take or quota.consume).
    plan.settle(await withStore(() => applyAdmissionOp(ctx.stores, plan.op)));
    return undefined;
  };
  return Object.assign(step, { admission });
}

/** A policy's misconfiguration found at run time (a ref that resolves to nothing usable): a 500 fault. */
export function configFault(errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status: 500, errorCode, faultString });
}

/** A positive integer from a literal or ref; undefined when the value is absent or not one. */
export function resolveCount(
  ctx: PolicyContext,
  value: RefOr<number> | string | undefined,
  min = 1,
): number | undefined {
  if (value === undefined) return undefined;
  const raw = ctx.variables.resolve(value);
  const n = typeof raw === 'number' ? raw : typeof raw === 'string' && /^\d+$/.test(raw.trim()) ? Number(raw) : NaN;
  return Number.isSafeInteger(n) && n >= min ? n : undefined;
}

export function resolveIdentifier(ctx: PolicyContext, identifier: RefOr<string> | undefined): string {
  if (identifier === undefined) return '_default';
  const value = ctx.variables.resolve(identifier);
  return value === undefined || value === null || value === '' ? '_default' : String(value);
}

export const INVALID_MESSAGE_WEIGHT = 'policies.ratelimit.InvalidMessageWeight';

export function resolveWeight(ctx: PolicyContext, weight: RefOr<number> | undefined): number {
  if (weight === undefined) return 1;
  const n = resolveCount(ctx, weight);
  if (n === undefined)
    throw configFault(INVALID_MESSAGE_WEIGHT, 'Invalid message weight: it must be a positive integer');
  return n;
}

/**
 * The counter key of a Quota policy for one identifier; ResetQuota builds the same one. Namespace and
 * policy name stay readable; the identifier (an API key, a client id, a header value) is only its
 * keyed hash (RuntimeIndex.hashStoreKey), so the store never holds it in clear.
 */
export function quotaKey(ctx: PolicyContext, namespace: string, policyName: string, identifier: string): string {
  return `${namespace}/${policyName}/${ctx.runtime.hashStoreKey(identifier)}`;
}

/** The bucket key of a SpikeArrest policy for one identifier, hashed as quotaKey's. */
export function spikeKey(ctx: PolicyContext, meta: PolicyMeta, identifier: string): string {
  return `${meta.namespace}/${meta.name}/${ctx.runtime.hashStoreKey(identifier)}`;
}

/** A literal-or-ref boolean: true, "true" (any case) or a non-zero number. */
export function resolveFlag(ctx: PolicyContext, value: RefOr<boolean> | undefined): boolean {
  if (value === undefined) return false;
  const raw = ctx.variables.resolve(value);
  return (
    raw === true || (typeof raw === 'string' && raw.toLowerCase() === 'true') || (typeof raw === 'number' && raw !== 0)
  );
}
