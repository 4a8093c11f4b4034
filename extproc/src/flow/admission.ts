// Merging admission steps (docs/policies.md): consecutive steps of one flow segment whose policy is one
// store admission op each (SpikeArrest, Quota; PolicyStep.admission) become one step that makes a
// single Stores.admit call (one Redis round trip) and then settles each in order. Eligible: no
// step has a condition (a condition could read what an earlier step sets, and a false one must not
// skip the others), no step has continueOnError, and disabled steps are not there at all. The merged step behaves exactly as the
// steps one after the other: an earlier refusal raises that step's fault and the later ops are not
// applied; a later step that cannot plan (a bad ref) fails after the earlier ones were applied and
// settled. One difference: the later steps plan (resolve their refs) before the earlier ones
// settle, so they see the variables as they were before ratelimit.{earlier}.* were set.
import { GatehouseError } from '../../../lib/errors.ts';
import type { CompiledStep } from './compile.ts';
import { withStore } from './faults.ts';
import type { Admission, AdmissionPlan, PolicyStep } from './types.ts';
import type { AdmissionOutcome } from '../stores/types.ts';

/** Thrown by a merged step: which of its steps failed, with the error that step raised. */
export class MergedStepError extends GatehouseError {
  readonly step: CompiledStep;

  constructor(step: CompiledStep, cause: unknown) {
    super('GH_ERR_MERGED_STEP', `merged admission step ${step.policy} failed`, { cause });
    this.step = step;
  }
}

interface Candidate {
  step: CompiledStep;
  /** The step has a condition of its own. */
  conditional: boolean;
}

function admissionOf(step: CompiledStep): Admission | undefined {
  return step.continueOnError ? undefined : step.run.admission;
}

/** Merges every run of two or more consecutive eligible admission steps. */
export function mergeAdmissionSteps(list: Candidate[]): CompiledStep[] {
  const out: CompiledStep[] = [];
  let run: CompiledStep[] = [];
  const flush = (): void => {
    out.push(...(run.length > 1 ? [mergedStep(run)] : run));
    run = [];
  };
  for (const { step, conditional } of list) {
    // A conditional step stays on its own: as the first of a run its false condition would skip
    // the steps after it too, and later in a run it could read what an earlier step sets.
    if (admissionOf(step) !== undefined && !conditional) {
      run.push(step);
      continue;
    }
    flush();
    out.push(step);
  }
  flush();
  return out;
}

function mergedStep(steps: CompiledStep[]): CompiledStep {
  const admissions = steps.map((s) => admissionOf(s)!);
  const run: PolicyStep = async (ctx) => {
    const plans: AdmissionPlan[] = [];
    let planFailure: MergedStepError | undefined;
    for (const [i, admission] of admissions.entries()) {
      try {
        plans.push(admission.plan(ctx));
      } catch (err) {
        // The steps before it still run; this one fails after them, as it would have one by one.
        planFailure = new MergedStepError(steps[i]!, err);
        break;
      }
    }
    let outcomes: AdmissionOutcome[] = [];
    if (plans.length > 0) {
      try {
        outcomes = await withStore(() => ctx.stores.admit(plans.map((p) => p.op)));
      } catch (err) {
        // One by one, the first step's call would have failed first.
        throw new MergedStepError(steps[0]!, err);
      }
    }
    for (const [i, outcome] of outcomes.entries()) {
      try {
        plans[i]!.settle(outcome);
      } catch (err) {
        throw new MergedStepError(steps[i]!, err);
      }
    }
    if (outcomes.length < plans.length) {
      throw new MergedStepError(
        steps[outcomes.length - 1]!,
        new Error('the store refused an admission op whose step raised no fault'),
      );
    }
    if (planFailure) throw planFailure;
    return undefined;
  };
  return {
    policy: steps.map((s) => s.policy).join('+'),
    type: 'MergedAdmission',
    when: steps[0]!.when,
    continueOnError: false,
    run,
    merged: steps,
  };
}
