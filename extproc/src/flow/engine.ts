// The flow engine (docs/architecture.md#the-flow-engine) for one exchange. Request: the DataPlane's
// preProxy hook, preFlow, the first conditional flow whose condition holds (chosen here and remembered
// for the response), postFlow, the preTarget hook. Response: the postTarget hook, preFlow, that flow,
// postFlow, the postProxy hook. postClientFlow after the response is sent. A FlowCallout step runs
// its SharedFlow's steps right after it, in the same phase. A failing step raises a fault: the
// remaining steps are skipped, the first matching fault rule runs, then the default fault rule when no
// rule matched or it is alwaysEnforce'd, and the (possibly rewritten) fault response goes out.
import { MergedStepError } from './admission.ts';
import { RefusedChangeError } from './allowed-changes.ts';
import type { CompiledConditionalFlow, CompiledProxy, CompiledStep } from './compile.ts';
import type { Exchange, StepOutcome } from './exchange.ts';
import { failedVariable } from './failed-variables.ts';
import { faultName, faultResponse, toPolicyFault } from './fault-response.ts';
import type { PolicyFault } from './faults.ts';
import { createResponseMessage, type Response } from './message.ts';
import type { DirectResponse, Phase, StepResult } from './types.ts';

/** What the server does after a phase: let the (possibly mutated) message go on, or answer now. */
export type PhaseOutcome =
  | { action: 'continue' }
  | { action: 'respond'; response: Response; /** set when the answer is a fault */ errorCode?: string };

const CONTINUE: PhaseOutcome = { action: 'continue' };
const NO_STEPS: CompiledStep[] = [];

/** Apigee's names of where a debug point happens (DebugPoint.phase in protos/gatehouse/v1/debug.proto). */
export type DebugPhase =
  'ProxyRequest' | 'TargetRequest' | 'TargetResponse' | 'ProxyResponse' | 'PostClientFlow' | 'Fault';

/**
 * What a debug session sees of a run (docs/operations.md#debug-sessions). The engine calls it only for a
 * transaction being captured; otherwise it is undefined and each call site costs one check.
 */
export interface FlowObserver {
  /** A flow with steps is entered (`phase` absent: the phase goes on, as for a FlowCallout's shared flow). */
  flowEntered(flow: string, phase?: DebugPhase): void;
  /** The step's condition was false. */
  stepSkipped(step: CompiledStep): void;
  /** The step is about to run (its condition held). */
  stepStarted(step: CompiledStep): void;
  /** The step started last ended; `step` is the one that failed when a merged admission step fails. */
  stepEnded(step: CompiledStep, outcome: StepOutcome, errorCode?: string): void;
  /** A fault enters the error flow (raised by `step`). */
  faultRaised(fault: PolicyFault, step: CompiledStep): void;
}

/** The flow segments of a phase, in order (runPhase's `flows`), by what a debug point names them. */
type Segment = 'preProxy' | 'preFlow' | 'flow' | 'postFlow' | 'preTarget' | 'postTarget' | 'postProxy';
const REQUEST_SEGMENTS: readonly Segment[] = ['preProxy', 'preFlow', 'flow', 'postFlow', 'preTarget'];
const RESPONSE_SEGMENTS: readonly Segment[] = ['postTarget', 'preFlow', 'flow', 'postFlow', 'postProxy'];

type StepsResult =
  | { kind: 'done' }
  | { kind: 'respond'; direct: DirectResponse }
  | { kind: 'fault'; fault: PolicyFault; step: CompiledStep };
const DONE: StepsResult = Object.freeze({ kind: 'done' });
/** How one step ended: the steps' result (answer, fault), undefined to go on, or a promise of either. */
type StepEnd = StepsResult | undefined | Promise<StepsResult | undefined>;

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | undefined)?.then === 'function';
}

export class FlowRun {
  private readonly compiled: CompiledProxy;
  private readonly exchange: Exchange;
  private flow: CompiledConditionalFlow | undefined;
  private requestDone = false;
  /** Set only for a transaction a debug session captures. */
  private readonly observer: FlowObserver | undefined;

  constructor(compiled: CompiledProxy, exchange: Exchange, observer?: FlowObserver) {
    this.compiled = compiled;
    this.exchange = exchange;
    this.observer = observer;
  }

  /** The conditional flow chosen in the request phase. */
  get matchedFlow(): string | undefined {
    return this.flow?.name;
  }

  async runRequest(): Promise<PhaseOutcome> {
    return this.request();
  }

  async runResponse(): Promise<PhaseOutcome> {
    return this.response();
  }

  /**
   * The request phase, as runRequest, but answered at once (no promise, no await) when no step runs:
   * the server's hot path for a flow with nothing to do (docs/architecture.md#the-hot-path).
   */
  request(): PhaseOutcome | Promise<PhaseOutcome> {
    this.requestDone = true;
    return this.phase('request', REQUEST_SEGMENTS);
  }

  /** The response phase, as runResponse; answered at once when no step runs. */
  response(): PhaseOutcome | Promise<PhaseOutcome> {
    return this.phase('response', RESPONSE_SEGMENTS);
  }

  /** Whether runPostClient has steps to run (it has none before the request phase ran). */
  get hasPostClient(): boolean {
    return this.requestDone && this.compiled.postClientFlow.length > 0;
  }

  /**
   * A segment's steps in `phase`. The conditional flow is chosen when its segment comes, after preFlow
   * has run (its condition may read what preFlow set), and remembered for the response.
   */
  private stepsOf(segment: Segment, phase: Phase): CompiledStep[] {
    const c = this.compiled;
    switch (segment) {
      case 'preProxy':
        return c.hooks.preProxy?.steps ?? NO_STEPS;
      case 'preTarget':
        return c.hooks.preTarget?.steps ?? NO_STEPS;
      case 'postTarget':
        return c.hooks.postTarget?.steps ?? NO_STEPS;
      case 'postProxy':
        return c.hooks.postProxy?.steps ?? NO_STEPS;
      case 'preFlow':
        return phase === 'request' ? c.preFlow.request : c.preFlow.response;
      case 'postFlow':
        return phase === 'request' ? c.postFlow.request : c.postFlow.response;
      case 'flow':
        if (phase === 'response') return this.flow?.response ?? NO_STEPS;
        if (c.conditionalFlows.length === 0) return NO_STEPS;
        this.flow = c.conditionalFlows.find((f) => f.when(this.exchange.variables));
        if (this.flow) this.exchange.variables.set('current.flow.name', this.flow.name);
        return this.flow?.request ?? NO_STEPS;
    }
  }

  /** Runs postClientFlow; its faults and answers change nothing (the response has gone). */
  async runPostClient(): Promise<void> {
    if (!this.requestDone || this.compiled.postClientFlow.length === 0) return;
    this.observer?.flowEntered('PostClientFlow', 'PostClientFlow');
    const result = await this.runSteps(this.compiled.postClientFlow, 'response', 0);
    if (result.kind === 'fault') {
      this.exchange.log.warn(
        { policy: result.step.policy, errorCode: result.fault.errorCode },
        'postClientFlow step failed',
      );
    }
  }

  /**
   * A phase's segments in order. Segments without steps are passed over without an await; a phase
   * none of whose segments has a step is over at once (docs/architecture.md#the-hot-path).
   */
  private phase(phase: Phase, segments: readonly Segment[]): PhaseOutcome | Promise<PhaseOutcome> {
    for (let i = 0; i < segments.length; i++) {
      const steps = this.stepsOf(segments[i]!, phase);
      if (steps.length > 0) return this.runPhaseFrom(phase, segments, i, steps);
    }
    return CONTINUE;
  }

  /**
   * The phase from segment `first` on, whose steps are `steps` (already chosen; undefined: choose them
   * now). Synchronous while every step is: a step that answers at once costs no promise and no await
   * (docs/architecture.md#the-hot-path); from the first step that returns a promise on, the rest of the
   * phase runs when it settles.
   */
  private runPhaseFrom(
    phase: Phase,
    segments: readonly Segment[],
    first: number,
    firstSteps: CompiledStep[] | undefined,
  ): PhaseOutcome | Promise<PhaseOutcome> {
    for (let i = first; i < segments.length; i++) {
      const segment = segments[i]!;
      // A segment's steps are chosen when it comes (stepsOf chooses the conditional flow), once.
      const steps = i === first && firstSteps !== undefined ? firstSteps : this.stepsOf(segment, phase);
      if (steps.length === 0) continue;
      if (this.observer) this.enteredSegment(this.observer, segment, phase);
      const result = this.runSteps(steps, phase, 0);
      if (result instanceof Promise)
        return result.then(
          (settled) => this.segmentEnded(settled, phase) ?? this.runPhaseFrom(phase, segments, i + 1, undefined),
        );
      const ended = this.segmentEnded(result, phase);
      if (ended !== undefined) return ended;
    }
    return CONTINUE;
  }

  /** What a segment's steps leave the phase with: an answer, the fault flow, or undefined (go on). */
  private segmentEnded(result: StepsResult, phase: Phase): PhaseOutcome | Promise<PhaseOutcome> | undefined {
    if (result.kind === 'respond') return this.respondDirect(result.direct);
    if (result.kind === 'fault') return this.handleFault(result.fault, result.step, phase);
    return undefined;
  }

  private enteredSegment(observer: FlowObserver, segment: Segment, phase: Phase): void {
    const { hooks } = this.compiled;
    const proxyPhase: DebugPhase = phase === 'request' ? 'ProxyRequest' : 'ProxyResponse';
    const shared = (flow: { name: string } | undefined) => `SharedFlow/${flow?.name.split('/').pop() ?? ''}`;
    switch (segment) {
      case 'preProxy':
        return observer.flowEntered(shared(hooks.preProxy), 'ProxyRequest');
      case 'preTarget':
        return observer.flowEntered(shared(hooks.preTarget), 'TargetRequest');
      case 'postTarget':
        return observer.flowEntered(shared(hooks.postTarget), 'TargetResponse');
      case 'postProxy':
        return observer.flowEntered(shared(hooks.postProxy), 'ProxyResponse');
      case 'preFlow':
        return observer.flowEntered('PreFlow', proxyPhase);
      case 'postFlow':
        return observer.flowEntered('PostFlow', proxyPhase);
      case 'flow':
        return observer.flowEntered(this.flow?.name ?? '', proxyPhase);
    }
  }

  /**
   * The steps from `from` on. Synchronous while every step is; a step that returns a promise hands the
   * rest to when it settles (the same order, the same outcomes as awaiting every step).
   */
  private runSteps(steps: CompiledStep[], phase: Phase, from: number): StepsResult | Promise<StepsResult> {
    const vars = this.exchange.variables;
    const observer = this.observer;
    for (let i = from; i < steps.length; i++) {
      const step = steps[i]!;
      if (!step.when(vars)) {
        observer?.stepSkipped(step);
        continue;
      }
      observer?.stepStarted(step);
      const started = performance.now();
      let ended: StepEnd;
      try {
        const result = step.run(this.exchange.context(phase, step));
        ended = isPromiseLike(result)
          ? this.stepSettles(step, result, phase, started)
          : this.stepRan(step, result, phase, started);
      } catch (caught) {
        ended = this.stepFailed(step, caught, phase, started);
      }
      if (ended === undefined) continue;
      if (ended instanceof Promise) return ended.then((settled) => settled ?? this.runSteps(steps, phase, i + 1));
      return ended;
    }
    return DONE;
  }

  /** A step that returned a promise: its outcome once it settles, as stepRan and stepFailed give it. */
  private async stepSettles(
    step: CompiledStep,
    pending: PromiseLike<StepResult>,
    phase: Phase,
    started: number,
  ): Promise<StepsResult | undefined> {
    try {
      return await this.stepRan(step, await pending, phase, started);
    } catch (caught) {
      return this.stepFailed(step, caught, phase, started);
    }
  }

  /** A step that ended without a fault: its answer, its FlowCallout's shared flow, or undefined (go on). */
  private stepRan(step: CompiledStep, result: StepResult, phase: Phase, started: number): StepEnd {
    const observer = this.observer;
    const outcome = result ? 'respond' : 'continue';
    this.exchange.stepDone(step, outcome, (performance.now() - started) / 1000);
    observer?.stepEnded(step, outcome);
    if (result) return { kind: 'respond', direct: result.respond };
    if (!step.sharedFlow) return undefined;
    observer?.flowEntered(`SharedFlow/${step.sharedFlow.name.split('/').pop() ?? ''}`);
    // FlowCallout: the shared flow's fault is the caller's (its fault rules run), unless the
    // FlowCallout continues on error (docs/policies.md#flowcallout). Nesting is bounded at compile.
    const inner = this.runSteps(step.sharedFlow.steps, phase, 0);
    if (!(inner instanceof Promise)) return this.sharedFlowEnded(step, inner, phase);
    return inner.then(
      (settled) => this.sharedFlowEnded(step, settled, phase),
      (caught: unknown) => this.stepFailed(step, caught, phase, started),
    );
  }

  private sharedFlowEnded(step: CompiledStep, inner: StepsResult, phase: Phase): StepsResult | undefined {
    if (inner.kind === 'respond') return inner;
    if (inner.kind === 'fault') {
      if (!step.continueOnError) return inner;
      this.recordError(inner.fault, inner.step, phase);
    }
    return undefined;
  }

  /** A step that threw or rejected: the fault, or undefined when it continues on error. */
  private stepFailed(step: CompiledStep, caught: unknown, phase: Phase, started: number): StepsResult | undefined {
    // A merged admission step names which of its steps failed.
    const [failed, err] = caught instanceof MergedStepError ? [caught.step, caught.cause] : [step, caught];
    const fault = this.toFault(err, failed);
    const seconds = (performance.now() - started) / 1000;
    // A fault an ExternalCallout server raises enters the error flow whatever continueOnError says
    // (docs/policies.md#externalcallout).
    const goesOn = failed.continueOnError && !fault.overridesContinueOnError;
    this.exchange.stepDone(failed, goesOn ? 'continued' : 'fault', seconds, fault.errorCode);
    this.observer?.stepEnded(failed, goesOn ? 'continued' : 'fault', fault.errorCode);
    if (!goesOn) return { kind: 'fault', fault, step: failed };
    this.recordError(fault, failed, phase);
    return undefined;
  }

  private toFault(err: unknown, step: CompiledStep): PolicyFault {
    const fault = toPolicyFault(err);
    if (err instanceof RefusedChangeError) {
      this.exchange.refusedChange(step.type);
      this.exchange.log.warn(
        { policy: step.policy, type: step.type, header: err.header, reason: err.reason },
        'policy change refused: Envoy would not apply it',
      );
    } else if (fault !== err) {
      this.exchange.log.error({ err, policy: step.policy, type: step.type }, 'policy step failed');
    }
    return fault;
  }

  private recordError(fault: PolicyFault, step: CompiledStep, phase: Phase): void {
    const vars = this.exchange.variables;
    vars.set('fault.name', faultName(fault.errorCode));
    vars.set('fault.policy', step.policy);
    vars.set('error', true);
    vars.set('error.code', fault.errorCode);
    vars.set('error.message', fault.message);
    vars.set('error.status.code', fault.status);
    vars.set('error.reason.phrase', fault.reasonPhrase ?? '');
    vars.set('error.state', phase === 'request' ? 'PROXY_REQ_FLOW' : 'PROXY_RESP_FLOW');
    const failed = failedVariable(step.type, step.policy);
    if (failed) vars.set(failed, true);
  }

  private async handleFault(first: PolicyFault, step: CompiledStep, phase: Phase): Promise<PhaseOutcome> {
    let fault = first;
    const observer = this.observer;
    observer?.faultRaised(fault, step);
    this.recordError(fault, step, phase);
    // Fault rule steps see the fault response as `response`, so AssignMessage can rewrite it.
    this.exchange.response = faultResponse(fault);
    const c = this.compiled;
    const vars = this.exchange.variables;
    const rule = c.faultRules.find((r) => r.when(vars));
    const ruleSteps = [
      ...(rule?.steps ?? []),
      ...(c.defaultFaultRule && (!rule || c.defaultFaultRule.alwaysEnforce) ? c.defaultFaultRule.steps : []),
    ];
    const ruleCount = rule?.steps.length ?? 0;
    for (const [i, ruleStep] of ruleSteps.entries()) {
      if (observer && (i === 0 || i === ruleCount))
        observer.flowEntered(i < ruleCount ? (rule?.name ?? '') : 'DefaultFaultRule', 'Fault');
      if (!ruleStep.when(vars)) {
        observer?.stepSkipped(ruleStep);
        continue;
      }
      observer?.stepStarted(ruleStep);
      try {
        const result = await ruleStep.run(this.exchange.context('response', ruleStep));
        observer?.stepEnded(ruleStep, result ? 'respond' : 'continue');
        if (result) return this.respondDirect(result.respond, fault.errorCode);
      } catch (err) {
        // A fault inside a fault rule (RaiseFault) replaces the response; no rule runs for it.
        fault = this.toFault(err, ruleStep);
        observer?.stepEnded(ruleStep, 'fault', fault.errorCode);
        observer?.faultRaised(fault, ruleStep);
        this.exchange.response = faultResponse(fault);
        break;
      }
    }
    return { action: 'respond', response: this.exchange.response, errorCode: fault.errorCode };
  }

  private respondDirect(direct: DirectResponse, errorCode?: string): PhaseOutcome {
    const response = createResponseMessage({
      status: direct.status,
      headers: direct.headers,
      body: Buffer.from(direct.body, 'utf8'),
    });
    this.exchange.response = response;
    return errorCode === undefined ? { action: 'respond', response } : { action: 'respond', response, errorCode };
  }
}
