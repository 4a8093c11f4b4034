// The timeline of one transaction a debug session captures (docs/operations.md#debug-sessions): the
// flow engine's FlowObserver, and the wrapper of the flow variables that records what each step read,
// set and removed. Nothing here is masked yet: the raw timeline never leaves the process; capture.ts
// masks it (mask.ts) before it is queued. A recorder exists only for a transaction of a proxy with an
// active session, so none of this runs for any other.
import type { CompiledStep } from '../flow/compile.ts';
import type { DebugPhase, FlowObserver } from '../flow/engine.ts';
import type { StepOutcome } from '../flow/exchange.ts';
import type { PolicyFault } from '../flow/faults.ts';
import { Request, type Response } from '../flow/message.ts';
import { expandTemplate } from '../flow/templates.ts';
import type { RequestMessage, ResponseMessage, Variables } from '../flow/types.ts';
import type { RefOr } from '../../../protos/policies/schema.ts';
import { PrivateValue, toVariableString, type VariableLayer } from '../flow/variables.ts';

/** A message as it stood at one point: its parts, the body by reference (Buffers are never mutated). */
export interface MessageState {
  method: string;
  path: string;
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

export interface RawVariable {
  name: string;
  value: string;
}

/** One point of the timeline before masking (DebugPoint of protos/gatehouse/v1/debug.proto). */
export interface RawPoint {
  kind: 'PhaseStarted' | 'FlowEntered' | 'StepExecuted' | 'StepSkipped' | 'FaultRaised' | 'ResponseSent';
  phase: DebugPhase;
  flow: string;
  policy: string;
  policyType: string;
  outcome: string;
  faultCode: string;
  condition: string;
  conditionResult: boolean;
  elapsedUs: number;
  durationUs: number;
  variablesRead: RawVariable[];
  variablesSet: RawVariable[];
  variablesRemoved: RawVariable[];
  messageBefore?: MessageState;
  messageAfter?: MessageState;
}

/** Policy types whose reads are credentials the client presented (masked wherever they appear). */
const CREDENTIAL_READERS = new Set([
  'VerifyAPIKey',
  'OAuthV2',
  'BasicAuthentication',
  'VerifyJWT',
  'VerifyJWS',
  'DecodeJWT',
  'DecodeJWS',
  'GetOAuthV2Info',
  'SetOAuthV2Info',
  'DeleteOAuthV2Info',
  'RevokeOAuthV2',
  'HMAC',
]);

/** Policy types whose variables named like a token or secret hold one they issued or looked up. */
const CREDENTIAL_WRITERS = new Set(['OAuthV2', 'GetOAuthV2Info', 'GenerateJWT', 'GenerateJWS', 'BasicAuthentication']);

/** The last part of a variable name (or a form/query parameter) that holds a credential. */
export const SENSITIVE_NAMES = new Set([
  'client_secret',
  'password',
  'code',
  'refresh_token',
  'access_token',
  'assertion',
  'client_assertion',
  'id_token',
  'token',
  'apikey',
  'api_key',
  'secret',
  'consumer_secret',
  'authorization',
]);

/**
 * What a credential policy reads that is no credential: where the request goes and what it asks for
 * (masking these everywhere would hide the path of every point and tell nothing).
 */
const NOT_CREDENTIALS =
  /^(?:proxy\.|environment\.|apiproxy\.|system\.|client\.|messageid$|request\.(?:verb|path|uri|querystring)$|request\.(?:formparam|queryparam)\.(?:grant_type|scope|redirect_uri|response_type|state)$|request\.header\.content-type$)/;

export function isSensitiveName(name: string): boolean {
  const last = name.slice(name.lastIndexOf('.') + 1).toLowerCase();
  return SENSITIVE_NAMES.has(last);
}

function textOf(value: unknown): string {
  if (value instanceof Request || (value !== null && typeof value === 'object' && 'headers' in value))
    return '[message]';
  return toVariableString(value) ?? '';
}

/** The step being recorded: its reads, sets and removals (last value wins), and the message before it. */
interface OpenStep {
  step: CompiledStep;
  started: number;
  read: Map<string, string>;
  set: Map<string, string>;
  removed: Set<string>;
  before: MessageState;
}

export class TransactionRecorder implements FlowObserver {
  readonly points: RawPoint[] = [];
  /** Unix milliseconds at the request headers. */
  readonly startedAtMs: number;
  /** Values the client presented or the gateway issued as credentials: masked wherever they appear. */
  readonly credentials = new Set<string>();
  /** Query and form parameter names and header names a credential policy read its credential from. */
  readonly credentialParams = new Set<string>();
  readonly credentialHeaders = new Set<string>();
  private readonly t0: number;
  private phase: DebugPhase = 'ProxyRequest';
  private flow = '';
  private open: OpenStep | undefined;
  private request: Request | undefined;
  private response: () => Response | undefined = () => undefined;

  constructor(now: number) {
    this.startedAtMs = now;
    this.t0 = performance.now();
  }

  private elapsedUs(): number {
    return Math.round((performance.now() - this.t0) * 1000);
  }

  /** The wrapper policies are given instead of the flow variables. */
  variables(inner: Variables, request: Request, response: () => Response | undefined): Variables {
    this.request = request;
    this.response = response;
    return new RecordingVariables(inner, this);
  }

  private point(kind: RawPoint['kind'], fields: Partial<RawPoint> = {}): RawPoint {
    const point: RawPoint = {
      kind,
      phase: this.phase,
      flow: this.flow,
      policy: '',
      policyType: '',
      outcome: '',
      faultCode: '',
      condition: '',
      conditionResult: false,
      elapsedUs: this.elapsedUs(),
      durationUs: 0,
      variablesRead: [],
      variablesSet: [],
      variablesRemoved: [],
      ...fields,
    };
    this.points.push(point);
    return point;
  }

  /** A phase starts with the message as received. */
  phaseStarted(phase: DebugPhase, message: Request | Response): void {
    this.phase = phase;
    this.flow = '';
    this.point('PhaseStarted', { messageBefore: snapshotMessage(message) });
  }

  /** The response leaves for the client (passed on, answered by a policy, or a fault). */
  responseSent(response: Response | undefined, faultCode?: string): void {
    this.point('ResponseSent', {
      ...(response ? { messageAfter: snapshotMessage(response) } : {}),
      ...(faultCode ? { faultCode } : {}),
    });
  }

  flowEntered(flow: string, phase?: DebugPhase): void {
    if (phase) this.phase = phase;
    this.flow = flow;
    this.point('FlowEntered');
  }

  stepSkipped(step: CompiledStep): void {
    this.point('StepSkipped', {
      policy: step.policy,
      policyType: step.type,
      outcome: 'skipped',
      condition: step.condition ?? '',
      conditionResult: false,
    });
  }

  stepStarted(step: CompiledStep): void {
    this.open = {
      step,
      started: performance.now(),
      read: new Map(),
      set: new Map(),
      removed: new Set(),
      before: snapshotMessage(this.currentMessage()),
    };
  }

  stepEnded(step: CompiledStep, outcome: StepOutcome, errorCode?: string): void {
    const open = this.open;
    this.open = undefined;
    const after = snapshotMessage(this.currentMessage());
    const changed = open !== undefined && messageChanged(open.before, after);
    const list = (m: Map<string, string> | undefined) =>
      [...(m ?? new Map<string, string>())].map(([name, value]) => ({ name, value }));
    this.point('StepExecuted', {
      policy: step.policy,
      policyType: step.type,
      outcome: outcome === 'continue' || outcome === 'respond' ? 'executed' : outcome,
      faultCode: errorCode ?? '',
      condition: step.condition ?? open?.step.condition ?? '',
      conditionResult: true,
      durationUs: open ? Math.round((performance.now() - open.started) * 1000) : 0,
      variablesRead: list(open?.read),
      variablesSet: list(open?.set),
      variablesRemoved: [...(open?.removed ?? [])].map((name) => ({ name, value: '' })),
      ...(changed ? { messageBefore: open.before, messageAfter: after } : {}),
    });
  }

  faultRaised(fault: PolicyFault, step: CompiledStep): void {
    this.point('FaultRaised', {
      policy: step.policy,
      policyType: step.type,
      faultCode: fault.errorCode,
      outcome: 'fault',
    });
    this.phase = 'Fault';
  }

  /** The message the running step works on: the request until the response exists. */
  private currentMessage(): Request | Response | undefined {
    const request = this.phase === 'ProxyRequest' || this.phase === 'TargetRequest';
    return request ? this.request : (this.response() ?? this.request);
  }

  /** RecordingVariables: a read of `name` by the step running now. */
  recordRead(name: string, value: unknown): void {
    if (value === undefined) return;
    const text = this.noteCredential(name, value, this.open?.step.type, CREDENTIAL_READERS);
    if (this.open?.step.type !== undefined && CREDENTIAL_READERS.has(this.open.step.type)) {
      if (name.startsWith('request.queryparam.')) this.credentialParams.add(name.slice(19).toLowerCase());
      else if (name.startsWith('request.formparam.')) this.credentialParams.add(name.slice(18).toLowerCase());
      else if (name.startsWith('request.header.')) this.credentialHeaders.add(name.slice(15).toLowerCase());
    }
    this.open?.read.set(name, text);
  }

  recordSet(name: string, value: unknown): void {
    const text = this.noteCredential(name, value, this.open?.step.type, CREDENTIAL_WRITERS);
    this.open?.set.set(name, text);
  }

  recordRemove(name: string): void {
    this.open?.removed.add(name);
  }

  /** The variable's text; a credential's value is remembered so that it is masked everywhere. */
  private noteCredential(name: string, value: unknown, type: string | undefined, types: ReadonlySet<string>): string {
    const text = textOf(value);
    const byPolicy =
      type !== undefined &&
      types.has(type) &&
      (types === CREDENTIAL_READERS ? !NOT_CREDENTIALS.test(name) : isSensitiveName(name));
    const credential = value instanceof PrivateValue || name.startsWith('private.') || byPolicy;
    if (credential && text !== '' && text !== '[message]') this.credentials.add(text);
    return text;
  }
}

/** The Variables policies see in a captured transaction: the flow's own, with every access recorded. */
class RecordingVariables implements Variables {
  private readonly inner: Variables;
  private readonly recorder: TransactionRecorder;

  constructor(inner: Variables, recorder: TransactionRecorder) {
    this.inner = inner;
    this.recorder = recorder;
  }

  get(name: string): unknown {
    const value = this.inner.get(name);
    this.recorder.recordRead(name, value);
    return value;
  }

  getString(name: string): string | undefined {
    const value = this.inner.getString(name);
    this.recorder.recordRead(name, value);
    return value;
  }

  set(name: string, value: unknown): void {
    this.inner.set(name, value);
    this.recorder.recordSet(name, value);
  }

  setLayer(layer: VariableLayer): void {
    this.inner.setLayer(layer);
    for (const [name, value] of layer.values) this.recorder.recordSet(name, value);
  }

  remove(name: string): void {
    for (const removed of this.inner.namesUnder(name)) this.recorder.recordRemove(removed);
    this.inner.remove(name);
  }

  namesUnder(prefix: string): string[] {
    return this.inner.namesUnder(prefix);
  }

  resolve<T>(value: RefOr<T> | undefined): T | string | undefined {
    if (value !== null && typeof value === 'object' && 'ref' in value && typeof value.ref === 'string')
      return this.getString(value.ref);
    return this.inner.resolve(value);
  }

  template(text: string): string {
    return expandTemplate(text, this);
  }

  message(name: string): RequestMessage | ResponseMessage | undefined {
    return this.inner.message(name);
  }

  holdsNonMessage(name: string): boolean {
    return this.inner.holdsNonMessage(name);
  }
}

export function snapshotMessage(message: Request | Response | undefined): MessageState {
  if (!message) return { method: '', path: '', status: 0, headers: [], body: Buffer.alloc(0) };
  const headers: Array<[string, string]> = [];
  for (const [name, values] of message.headers.entries()) for (const value of values) headers.push([name, value]);
  const isRequest = message instanceof Request;
  return {
    method: isRequest ? message.method : '',
    path: isRequest ? message.target : '',
    status: isRequest ? 0 : message.status,
    headers,
    body: message.body.bytes(),
  };
}

function messageChanged(a: MessageState, b: MessageState): boolean {
  if (a.method !== b.method || a.path !== b.path || a.status !== b.status) return true;
  if (a.body !== b.body && !a.body.equals(b.body)) return true;
  if (a.headers.length !== b.headers.length) return true;
  return a.headers.some(([n, v], i) => b.headers[i]![0] !== n || b.headers[i]![1] !== v);
}
