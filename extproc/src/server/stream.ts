// One ext_proc stream = one HTTP request (docs/architecture.md#the-envoy-and-extproc-contract). Envoy sends request headers, body, trailers, then
// response headers, body, trailers, skipping what the route's processing mode does not ask for, and
// waits for exactly one reply of the matching type to each. This state machine checks that order,
// answers every message once, runs the request flow when the request is complete as far as the mode
// lets us see it (at the body when a request step needs the body, else at the headers) and the
// response flow likewise, and turns faults into an ImmediateResponse, after which it sends nothing
// more. Anything out of order ends the stream with a gRPC status instead of a reply Envoy would call
// spurious. Every stream is bounded (limits.ts): headers per message, body bytes (its own and, with
// the other streams, a process-wide budget), idle time, and policy work, which leaves the event loop
// for large bodies (workers/offload.ts) within a budget per phase.
import * as grpc from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { LoadedSnapshot } from '../config/snapshot.ts';
import type { SnapshotProvider } from '../config/snapshot-store.ts';
import type { Capture, DebugCapture } from '../debug/capture.ts';
import { authorizationCredentials } from '../debug/mask.ts';
import type { CompiledProxy } from '../flow/compile.ts';
import { FlowRun, type PhaseOutcome } from '../flow/engine.ts';
import { Exchange, type ExchangeInit, type StepOutcome } from '../flow/exchange.ts';
import { faultName, faultResponse } from '../flow/fault-response.ts';
import {
  BodyBufferFullFault,
  InternalErrorFault,
  NotReadyFault,
  PayloadTooLargeFault,
  RequestHeadersTooLargeFault,
  ResponseHeadersTooLargeFault,
  ResponseTooLargeFault,
  RouteNotFoundFault,
  PathParametersFault,
  hasPathParameters,
} from '../flow/gatehouse-faults.ts';
import type { PolicyFault } from '../flow/faults.ts';
import { createRequestMessage, createResponseMessage, type Request, type Response } from '../flow/message.ts';
import type { Egress, ExternalCallouts, MessageLogs, RemoteKeySets } from '../flow/types.ts';
import type { Stores } from '../stores/types.ts';
import { StreamOffload, type OffloadLimits } from '../workers/offload.ts';
import type { WorkerPool } from '../workers/pool.ts';
import type { CommonResponse, EnvoyHeaderMap, ProcessingRequest, ProcessingResponse } from './envoy-proto.ts';
import {
  headersProblem,
  ProtocolError,
  StreamIdleError,
  StreamStatusError,
  type BodyBudget,
  type StreamLimits,
} from './limits.ts';
import { idleSweep, type IdleSweep, type IdleWatched } from './idle-sweep.ts';
import type { ExtprocMetrics, StreamOutcome } from './metrics.ts';
import { RequestContext } from './request-context.ts';
import type { StreamTrace, StreamTracer } from '../tracing/stream-tracer.ts';
import type { AnalyticsRecorder } from '../analytics/recorder.ts';
import { pathOnly, statisticsVariable, type AnalyticsRecord, type DimensionValue } from '../analytics/record.ts';
import type { ProcessCall, ProcessSink } from './transport.ts';
import {
  immediateResponse,
  receiveAttributes,
  receiveHeaders,
  requestChanges,
  responseChanges,
  type ReceivedHeaders,
} from './translate.ts';

export const ROUTE_METADATA = 'x-gatehouse-route';

/**
 * The reason every stream's AbortController ends with: one shared value, because abort() without a
 * reason builds a DOMException (and its stack) per stream, a cost the profile showed on every request
 * (docs/architecture.md#the-hot-path). Nothing reads the reason: the pool only drops queued work.
 */
const STREAM_ENDED = Object.freeze(new Error('ext_proc stream ended'));

export interface StreamDeps {
  /** JWKS and discovery documents by URL (keys/remote-key-sets.ts); absent: none are fetched. */
  keys?: RemoteKeySets;
  /** ExternalCallout servers; absent: every callout fails. */
  callouts?: ExternalCallouts;
  /** Outbound HTTP for ServiceCallout (egress/client.ts); absent: callouts fail. */
  egress?: Egress;
  /** MessageLogging's background senders (egress/message-log.ts); absent: messages are dropped. */
  messageLogs?: MessageLogs;
  snapshots: SnapshotProvider;
  stores: Stores;
  log: Logger;
  metrics: ExtprocMetrics;
  limits: StreamLimits;
  bodyBudget: BodyBudget;
  /** Undefined: every policy task runs inline (`--work-threads 0`). */
  pool: WorkerPool | undefined;
  offload: OffloadLimits;
  /** Streams open now, process-wide (the server refuses past limits.maxStreams). */
  streams: { active: number };
  now: () => number;
  /** Spans per stream and step (docs/operations.md#tracing); absent: tracing is off. */
  tracer?: StreamTracer;
  /** Debug sessions' captures (docs/operations.md#debug-sessions); absent: none are taken (--snapshot). */
  debug?: DebugCapture;
  /** One record per transaction (docs/operations.md#analytics); absent or without sinks: none. */
  analytics?: AnalyticsRecorder;
}

export type { ProcessCall } from './transport.ts';

/** A message's reply: at once when no policy step runs, else when the flow is done. */
type Reply = ProcessingResponse | Promise<ProcessingResponse>;
/** The stream's end, queued after its messages (a sentinel: no closure per message or end). */
const FINISH: unique symbol = Symbol('finish');
/** What waits its turn (ProcessingStream.drain): a message to handle, or the end. */
type Task = ProcessingRequest | typeof FINISH;
type Metadata = NonNullable<ProcessingResponse['dynamicMetadata']>;

const STAGES = [
  'requestHeaders',
  'requestBody',
  'requestTrailers',
  'responseHeaders',
  'responseBody',
  'responseTrailers',
] as const;
type Stage = (typeof STAGES)[number];

/**
 * The message's `request` oneof. proto-loader (grpc-js) gives it as a property; the generated codecs
 * (http2) as an accessor on the prototype that lists the message's keys on every read, so there the one
 * member present is looked up instead (decode leaves only one).
 */
function stageOf(msg: ProcessingRequest): Stage | undefined {
  if (Object.hasOwn(msg, 'request')) return msg.request;
  for (let i = 0; i < STAGES.length; i++) if (msg[STAGES[i]!]) return STAGES[i];
  return undefined;
}
type Direction = 'request' | 'response';

/** What one direction (request or response) has received so far. */
class DirectionState {
  headers: ReceivedHeaders | undefined;
  chunks: Buffer[] = [];
  size = 0;
  /** Bytes of the process-wide body budget this direction holds. */
  reserved = 0;
  /** end_of_stream seen: no more body for this direction. */
  ended = false;
  flowRan = false;
  body(): Buffer {
    return this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
  }
}

/**
 * What a stream's Exchange is given: one object of one shape per request, its callbacks and the `log`
 * accessor on the prototype. The literal with an accessor it replaces was built by V8 in dictionary
 * mode: a runtime call and a hash table per request, a dictionary lookup per read
 * (docs/architecture.md#allocations-per-request-issue-20). Do not turn it back into a literal.
 */
class StreamExchangeInit implements ExchangeInit {
  readonly request: Request;
  readonly proxy: ExchangeInit['proxy'];
  readonly runtime: ExchangeInit['runtime'];
  readonly stores: Stores;
  readonly keys: RemoteKeySets | undefined;
  readonly callouts: ExternalCallouts | undefined;
  readonly egress: Egress | undefined;
  readonly messageLogs: MessageLogs | undefined;
  readonly offload: StreamOffload;
  readonly now: () => number;
  readonly environmentName: string;
  readonly messageId: string;
  readonly client: { ip: string; cn: string };
  readonly #metrics: ExtprocMetrics;
  readonly #context: RequestContext;
  readonly #trace: StreamTrace | undefined;

  constructor(
    request: Request,
    proxy: ExchangeInit['proxy'],
    snapshot: LoadedSnapshot,
    deps: StreamDeps,
    offload: StreamOffload,
    messageId: string,
    clientIp: string,
    context: RequestContext,
    trace: StreamTrace | undefined,
  ) {
    this.request = request;
    this.proxy = proxy;
    this.runtime = snapshot.runtime;
    this.stores = deps.stores;
    this.keys = deps.keys;
    this.callouts = deps.callouts;
    this.egress = deps.egress;
    this.messageLogs = deps.messageLogs;
    this.offload = offload;
    this.now = deps.now;
    this.environmentName = snapshot.environmentName;
    this.messageId = messageId;
    this.client = { ip: clientIp, cn: '' };
    this.#metrics = deps.metrics;
    this.#context = context;
    this.#trace = trace;
  }

  /** The request's logger, built only if a line is logged (RequestContext.log). */
  get log(): Logger {
    return this.#context.log;
  }

  onRefusedChange(type: string): void {
    this.#metrics.refusedChanges.inc({ type });
  }

  onStep(type: string, outcome: StepOutcome, seconds: number, policy: string, errorCode?: string): void {
    this.#metrics.observePolicy(type, outcome, seconds);
    this.#trace?.step(type, outcome, seconds, policy, errorCode);
  }
}

export class ProcessingStream implements ProcessSink, IdleWatched {
  private readonly call: ProcessCall;
  private readonly deps: StreamDeps;
  private stage = -1;
  private closed = false;
  private outcome: StreamOutcome = 'completed';
  /** Work waiting its turn: messages, the end; one task at a time, in order (drain). The next one... */
  private next: Task | undefined = undefined;
  /** ...and those after it (rare: only while a task's promise is pending). */
  private later: Task[] | undefined = undefined;
  /** A task is running (or its promise pending): new ones wait (next, later). */
  private draining = false;
  private snapshot: LoadedSnapshot | undefined;
  private compiled: CompiledProxy | undefined;
  private exchange: Exchange | undefined;
  private run: FlowRun | undefined;
  private attributes: ReturnType<typeof receiveAttributes> | undefined;
  private readonly dir: Record<Direction, DirectionState> = {
    request: new DirectionState(),
    response: new DirectionState(),
  };
  private finished = false;
  /** The request's context, from its headers on (request id, trace id, proxy, app, fault; the logger). */
  private context: RequestContext | undefined;
  /** The stream's spans, when tracing is on and Envoy's span for the stream is sampled. */
  private trace: StreamTrace | undefined;
  /** The proxy's metric label value (bounded), once the proxy is known. */
  private proxyLabel: string | undefined;
  /**
   * Aborted when the stream ends: policy work still queued for a worker is dropped. Made only when
   * work goes to a worker (abort() builds an Event; most streams never offload).
   */
  private cancel: AbortController | undefined;
  private ended = false;
  private readonly offload: StreamOffload;
  /** The sweep that ends this stream when it sees no message for the idle timeout (idle-sweep.ts). */
  private readonly idle: IdleSweep;
  /** IdleWatched: the sweep's tick at the last message. */
  idleTick = 0;
  /** Set only while a debug session records this transaction. */
  private capture: Capture | undefined;
  /** Timings for the analytics record (performance.now() ms; 0 while unknown). Fields, not objects: no allocation per stream. */
  private readonly startedMs = performance.now();
  private readonly startedAt = Date.now();
  private forwardedMs = 0;
  private targetAnsweredMs = 0;
  /** Seconds of work per direction (the phase histograms' own figures). */
  private requestWork = 0;
  private responseWork = 0;
  /** The status the client was sent and the target's, for the analytics record and a debug capture. */
  private clientStatus = 0;
  private targetStatus = 0;

  constructor(call: ProcessCall, deps: StreamDeps) {
    this.call = call;
    this.deps = deps;
    deps.streams.active++;
    deps.metrics.streamOpened();
    this.offload = new StreamOffload(deps.pool, deps.offload, () => this.signal());
    this.idle = idleSweep(deps.limits.streamIdleTimeoutMs);
    this.idle.add(this);
    call.listen(this);
  }

  /** The call's events (ProcessSink): a message, the client's half-close, the call gone. */
  message(msg: ProcessingRequest): void {
    this.idleTick = this.idle.tick;
    this.enqueue(msg);
  }

  halfClosed(): void {
    this.enqueue(FINISH);
  }

  cancelled(): void {
    this.abort('cancelled');
  }

  /** The stream's logger: the request's child logger once the request headers arrived. */
  private get log() {
    return this.context?.log ?? this.deps.log;
  }

  /** IdleWatched: no message for the idle timeout. */
  onIdle(): void {
    if (this.closed) return;
    const err = new StreamIdleError(this.deps.limits.streamIdleTimeoutMs);
    this.log.info({ err: err.message }, 'ext_proc stream idle; ending it');
    this.close('idle_timeout', { code: err.grpcCode, details: err.message });
  }

  /** The signal policy work on a worker is given (StreamOffload asks only when it queues some). */
  private signal(): AbortSignal {
    this.cancel ??= new AbortController();
    if (this.ended) this.cancel.abort(STREAM_ENDED);
    return this.cancel.signal;
  }

  private endWork(): void {
    this.ended = true;
    this.cancel?.abort(STREAM_ENDED);
  }

  /**
   * Queues a task. The first one waiting starts in a microtask, as it always did: never inside the
   * transport's own event callback (node:http2's or grpc-js's), whatever a task writes or ends; the
   * others run after it.
   */
  private enqueue(task: Task): void {
    if (this.next === undefined) this.next = task;
    else (this.later ??= []).push(task);
    if (this.draining) return;
    this.draining = true;
    queueMicrotask(this.drainTasks);
  }

  private readonly drainTasks = (): void => this.drain();

  /** The next waiting task, in order. */
  private take(): Task | undefined {
    const task = this.next;
    this.next = this.later !== undefined && this.later.length > 0 ? this.later.shift() : undefined;
    return task;
  }

  /**
   * Runs the waiting tasks one after the other. A task that finishes synchronously (a message no
   * policy works on) costs no promise; one that returns a promise holds the others until it settles.
   * A task's error fails the stream (fail), after which the rest still run (finish).
   */
  private drain(): void {
    this.draining = true;
    for (let task = this.take(); task !== undefined; task = this.take()) {
      let pending: void | Promise<void>;
      try {
        pending = task === FINISH ? this.finish() : this.handle(task);
      } catch (err) {
        this.fail(err);
        continue;
      }
      if (pending instanceof Promise) {
        pending.then(
          () => this.drain(),
          (err: unknown) => {
            this.fail(err);
            this.drain();
          },
        );
        return;
      }
    }
    this.draining = false;
  }

  private abort(outcome: StreamOutcome): void {
    if (this.closed) return;
    this.closed = true;
    this.outcome = outcome;
    this.endWork();
    this.enqueue(FINISH);
  }

  private handle(msg: ProcessingRequest): void | Promise<void> {
    if (this.closed) return; // after an ImmediateResponse or an error nothing more is read
    const stage = this.checkOrder(msg);
    const started = performance.now();
    const reply = this.process(stage, msg);
    if (reply instanceof Promise) return reply.then((r) => this.answer(stage, started, r));
    this.answer(stage, started, reply);
  }

  /** Sends a message's reply, timed from `started` (the phase histograms). */
  private answer(stage: Stage, started: number, reply: ProcessingResponse): void {
    const seconds = (performance.now() - started) / 1000;
    if (stage.startsWith('request')) this.requestWork += seconds;
    else this.responseWork += seconds;
    this.deps.metrics.observePhase(stage, seconds);
    if (this.proxyLabel !== undefined) this.deps.metrics.observeProxyPhase(this.proxyLabel, stage, seconds);
    if (this.closed) return; // cancelled while a policy was running
    if (this.forwardedMs === 0 && this.dir.request.flowRan && !reply.immediateResponse && stage.startsWith('request'))
      this.forwardedMs = performance.now();
    this.call.write(reply);
    if (reply.immediateResponse) this.close('immediate_response');
  }

  private checkOrder(msg: ProcessingRequest): Stage {
    const stage = stageOf(msg);
    if (stage === undefined || !msg[stage])
      throw new ProtocolError(grpc.status.INVALID_ARGUMENT, 'ProcessingRequest carries no request');
    const index = STAGES.indexOf(stage);
    if (this.stage < 0 && stage !== 'requestHeaders')
      throw new ProtocolError(grpc.status.FAILED_PRECONDITION, `${stage} before requestHeaders`);
    const direction: Direction = index < 3 ? 'request' : 'response';
    const repeatedBody =
      index === this.stage && (stage === 'requestBody' || stage === 'responseBody') && !this.dir[direction].ended;
    if (index <= this.stage && !repeatedBody)
      throw new ProtocolError(grpc.status.FAILED_PRECONDITION, `${stage} after ${STAGES[this.stage]}`);
    if ((stage === 'requestBody' || stage === 'responseBody') && this.dir[direction].ended) {
      throw new ProtocolError(grpc.status.FAILED_PRECONDITION, `${stage} after the ${direction} ended`);
    }
    this.stage = index;
    return stage;
  }

  private process(stage: Stage, msg: ProcessingRequest): Reply {
    const tooLarge = this.headersTooLarge(stage, msg);
    if (tooLarge) return this.fault(tooLarge);
    switch (stage) {
      case 'requestHeaders':
        return this.onRequestHeaders(msg);
      case 'requestBody':
        return this.onBody('request', msg.requestBody!.body, msg.requestBody!.endOfStream);
      case 'requestTrailers':
        return this.onTrailers('request');
      case 'responseHeaders':
        return this.onResponseHeaders(msg);
      case 'responseBody':
        return this.onBody('response', msg.responseBody!.body, msg.responseBody!.endOfStream);
      case 'responseTrailers':
        return this.onTrailers('response');
    }
  }

  /** A headers or trailers message over --max-headers-count / --max-request-headers-kb, as its fault. */
  private headersTooLarge(stage: Stage, msg: ProcessingRequest): PolicyFault | undefined {
    let map: EnvoyHeaderMap | null | undefined;
    if (stage === 'requestHeaders' || stage === 'responseHeaders') map = msg[stage]!.headers;
    else if (stage === 'requestTrailers' || stage === 'responseTrailers') map = msg[stage]!.trailers;
    else return undefined;
    const problem = headersProblem(map, this.deps.limits);
    if (problem === undefined) return undefined;
    return stage.startsWith('request')
      ? new RequestHeadersTooLargeFault(problem)
      : new ResponseHeadersTooLargeFault(problem);
  }

  private onRequestHeaders(msg: ProcessingRequest): Reply {
    const state = this.dir.request;
    state.headers = receiveHeaders(msg.requestHeaders!.headers);
    state.ended = msg.requestHeaders!.endOfStream;
    this.attributes = receiveAttributes(msg);
    const header = (name: string) => state.headers!.first(name);
    // Envoy's gRPC client puts the trace context of its span for this stream in the stream's metadata
    // (the request's own traceparent, if any, is the client's): that is the trace extproc joins.
    const grpcTraceparent = this.call.metadata.get('traceparent')[0];
    const traceparent = typeof grpcTraceparent === 'string' ? grpcTraceparent : header('traceparent');
    this.context = new RequestContext(
      this.deps.log,
      this.attributes.requestId || header('x-request-id') || '',
      traceparent,
    );
    if (this.deps.tracer && typeof grpcTraceparent === 'string') {
      const tracestate = this.call.metadata.get('tracestate')[0];
      this.trace = this.deps.tracer.start(grpcTraceparent, typeof tracestate === 'string' ? tracestate : undefined);
    }
    this.snapshot = this.deps.snapshots.current();
    if (!this.snapshot) return this.fault(new NotReadyFault());
    const route = String(this.call.metadata.get(ROUTE_METADATA)[0] ?? '');
    this.compiled = this.snapshot.routes.get(route);
    if (!this.compiled) return this.fault(new RouteNotFoundFault(route));
    // Only a name the snapshot has becomes the proxy (logs, metric labels, the access log).
    this.context.resolved(route);
    this.proxyLabel = this.deps.metrics.proxyRequest(route);
    // No active session: the snapshot has no `debug` and this is one property read.
    const debugSessions = this.snapshot.debug?.byRoute.get(route);
    if (debugSessions !== undefined && this.deps.debug) this.capture = this.deps.debug.begin(debugSessions);
    if (hasPathParameters(state.headers.pseudo.get(':path') ?? '/')) return this.fault(new PathParametersFault());
    if (!state.ended && this.compiled.needsBody.request) {
      const declared = declaredLength(state.headers);
      if (declared > this.deps.limits.maxBodyBytes) return this.tooLarge('request');
      // Reserved before Envoy sends the body: when it cannot be held, Envoy never sends it.
      if (!this.reserve(state, declared)) return this.fault(new BodyBufferFullFault());
      return { requestHeaders: {} }; // the flow runs when the body is in
    }
    return this.runRequestFlow('requestHeaders', state.ended ? Buffer.alloc(0) : undefined);
  }

  private onResponseHeaders(msg: ProcessingRequest): Reply {
    // Envoy skipped the request body we expected: enforce the request flow now rather than never.
    if (!this.dir.request.flowRan) {
      const early = this.runRequestFlow(
        'requestTrailers',
        this.dir.request.chunks.length > 0 ? this.dir.request.body() : undefined,
      );
      const then = (reply: ProcessingResponse) => (reply.immediateResponse ? reply : this.responseHeaders(msg));
      return early instanceof Promise ? early.then(then) : then(early);
    }
    return this.responseHeaders(msg);
  }

  private responseHeaders(msg: ProcessingRequest): Reply {
    const state = this.dir.response;
    this.targetAnsweredMs = performance.now();
    state.headers = receiveHeaders(msg.responseHeaders!.headers);
    state.ended = msg.responseHeaders!.endOfStream;
    this.targetStatus = Number(state.headers.pseudo.get(':status') ?? 0) || 0;
    if (!state.ended && this.compiled!.needsBody.response) {
      const declared = declaredLength(state.headers);
      if (declared <= this.deps.limits.maxBodyBytes && !this.reserve(state, declared))
        return this.fault(new BodyBufferFullFault());
      return { responseHeaders: {} };
    }
    return this.runResponseFlow('responseHeaders', state.ended ? Buffer.alloc(0) : undefined);
  }

  private onBody(direction: Direction, chunk: Buffer, endOfStream: boolean): Reply {
    const state = this.dir[direction];
    const key = direction === 'request' ? 'requestBody' : 'responseBody';
    state.ended = endOfStream;
    if (state.flowRan) return stageReply(key); // a body the flow did not ask for passes through
    if (state.size + chunk.length > this.deps.limits.maxBodyBytes) return this.tooLarge(direction);
    if (!this.reserve(state, state.size + chunk.length)) return this.fault(new BodyBufferFullFault());
    state.chunks.push(chunk);
    state.size += chunk.length;
    if (!endOfStream) return stageReply(key);
    return direction === 'request' ? this.runRequestFlow(key, state.body()) : this.runResponseFlow(key, state.body());
  }

  private async onTrailers(direction: Direction): Promise<ProcessingResponse> {
    const state = this.dir[direction];
    const key = direction === 'request' ? 'requestTrailers' : 'responseTrailers';
    if (state.flowRan) return stageReply(key);
    // A streamed body ended by trailers: the flow runs now, but only an ImmediateResponse can still act.
    const reply =
      direction === 'request'
        ? await this.runRequestFlow(key, state.body())
        : await this.runResponseFlow(key, state.body());
    return reply.immediateResponse ? reply : stageReply(key);
  }

  /** Holds `total` body bytes for this direction against the process-wide budget; false when it is spent. */
  private reserve(state: DirectionState, total: number): boolean {
    const more = total - state.reserved;
    if (more <= 0) return true;
    if (!this.deps.bodyBudget.reserve(more)) return false;
    state.reserved += more;
    return true;
  }

  private runRequestFlow(stage: Stage, body: Buffer | undefined): Reply {
    const state = this.dir.request;
    state.flowRan = true;
    this.offload.startPhase();
    const snapshot = this.snapshot!;
    const headers = state.headers!;
    const pseudo = headers.pseudo;
    const request = createRequestMessage({
      method: pseudo.get(':method') ?? 'GET',
      path: pseudo.get(':path') ?? '/',
      scheme: pseudo.get(':scheme') ?? 'http',
      authority: pseudo.get(':authority') ?? '',
      headers,
      body,
    });
    const attrs = this.attributes!;
    this.exchange = new Exchange(
      new StreamExchangeInit(
        request,
        this.compiled!.proxy,
        snapshot,
        this.deps,
        this.offload,
        attrs.requestId || request.headers.get('x-request-id') || crypto.randomUUID(),
        attrs.clientIp,
        this.context!,
        this.trace,
      ),
    );
    const recorder = this.capture?.recorder;
    if (recorder) {
      const exchange = this.exchange;
      exchange.observeVariables(recorder.variables(exchange.variables, request, () => exchange.response));
      recorder.phaseStarted('ProxyRequest', request);
    }
    this.run = new FlowRun(this.compiled!, this.exchange, recorder);
    const outcome = this.run.request();
    if (outcome instanceof Promise) return outcome.then((o) => this.reply(stage, o, request, state));
    return this.reply(stage, outcome, request, state);
  }

  private runResponseFlow(stage: Stage, body: Buffer | undefined): Reply {
    const state = this.dir.response;
    state.flowRan = true;
    this.offload.startPhase();
    const headers = state.headers!;
    const pseudo = headers.pseudo;
    const response = createResponseMessage({ status: Number(pseudo.get(':status') ?? 200), headers, body });
    this.exchange!.response = response;
    this.capture?.recorder.phaseStarted('TargetResponse', response);
    const outcome = this.run!.response();
    if (outcome instanceof Promise) return outcome.then((o) => this.reply(stage, o, response, state));
    return this.reply(stage, outcome, response, state);
  }

  private changesFor(
    stage: Stage,
    message: Request | Response,
    state: DirectionState,
  ): CommonResponse | 'body-too-late' {
    const atHeaders = stage === 'requestHeaders' || stage === 'responseHeaders';
    // Body chunks already passed to Envoy cannot be replaced: refuse rather than send a spliced body.
    if (message.body.changed && state.chunks.length > 1) return 'body-too-late';
    return 'method' in message ? requestChanges(message, atHeaders) : responseChanges(message, atHeaders);
  }

  /** The reply to a message whose phase ran: the answer, or what policies changed of `message`. */
  private reply(
    stage: Stage,
    outcome: PhaseOutcome,
    message: Request | Response,
    state: DirectionState,
  ): ProcessingResponse {
    this.context!.app ??= this.exchange?.variables.getString('developer.app.name') || undefined;
    if (outcome.action === 'respond') return this.immediate(outcome.response, outcome.errorCode);
    if (stage === 'requestTrailers' || stage === 'responseTrailers') return stageReply(stage);
    const common = this.changesFor(stage, message, state);
    if (common === 'body-too-late') {
      this.log.error({ stage }, 'a policy changed a body Envoy streamed in several chunks; answering 500');
      return this.fault(new InternalErrorFault());
    }
    if (stage.startsWith('response')) {
      const response = this.exchange?.response;
      this.clientStatus = response?.status ?? 0;
      this.capture?.recorder.responseSent(response);
    }
    // What Envoy's access log reads (%DYNAMIC_METADATA(gatehouse:...)%), after each flow.
    return stageReply(stage, hasKeys(common) ? common : undefined, this.context!.dynamicMetadata());
  }

  private tooLarge(direction: Direction): ProcessingResponse {
    const limit = this.deps.limits.maxBodyBytes;
    return this.fault(direction === 'request' ? new PayloadTooLargeFault(limit) : new ResponseTooLargeFault(limit));
  }

  private fault(fault: PolicyFault): ProcessingResponse {
    return this.immediate(faultResponse(fault), fault.errorCode);
  }

  private immediate(response: Response, errorCode: string | undefined): ProcessingResponse {
    this.clientStatus = response.status;
    if (errorCode !== undefined) {
      this.deps.metrics.fault(errorCode, this.proxyLabel);
      if (this.context) this.context.faultCode = errorCode;
    }
    this.capture?.recorder.responseSent(response, errorCode);
    const details = errorCode === undefined ? 'gatehouse_direct_response' : `gatehouse_fault{${errorCode}}`;
    return {
      immediateResponse: immediateResponse(response, details),
      ...(this.context ? { dynamicMetadata: this.context.dynamicMetadata() } : {}),
    };
  }

  /** Ends the stream from our side: nothing more is written after this. */
  private close(outcome: StreamOutcome, status?: { code: grpc.status; details: string }): void {
    if (this.closed) return;
    this.closed = true;
    this.outcome = outcome;
    this.endWork();
    if (status) this.call.sendStatus(status.code, status.details);
    else this.call.end();
    this.enqueue(FINISH);
  }

  private fail(err: unknown): void {
    if (err instanceof StreamStatusError) {
      this.log.warn({ err: err.message, code: err.code }, 'ext_proc protocol error');
      this.close('protocol_error', { code: err.grpcCode, details: err.message });
      return;
    }
    this.log.error({ err }, 'ext_proc stream failed');
    this.close('internal_error', { code: grpc.status.INTERNAL, details: 'internal error' });
  }

  /** A captured transaction is over: the sessions keep it (filter, count), masked, for the reporter. */
  private endCapture(capture: Capture): void {
    this.capture = undefined;
    const code = this.context?.faultCode;
    this.deps.debug!.end(capture, {
      variables: this.exchange?.variables,
      requestId: this.context?.requestId ?? '',
      traceId: this.context?.traceId ?? '',
      proxy: this.context?.proxy ?? '',
      status: this.clientStatus,
      faultName: code ? faultName(code) : '',
      secrets: this.snapshot?.debug?.secrets ?? [],
      presented: presentedCredentials(this.dir.request.headers),
    });
  }

  /**
   * The transaction's analytics record (docs/operations.md#analytics): only streams that reached a
   * proxy; the path without its query, no header at all (API keys, Authorization).
   */
  private recordAnalytics(): void {
    const context = this.context;
    const snapshot = this.snapshot;
    const request = this.dir.request.headers;
    if (!context || !snapshot || !this.compiled || !request) return;
    const vars = this.exchange?.variables;
    const text = (name: string) => vars?.getString(name) ?? '';
    const clientStatus = this.clientStatus || (this.exchange?.response?.status ?? 0) || this.targetStatus || 0;
    const faultCode = context.faultCode ?? '';
    const ms = (from: number, to: number) => (from > 0 && to >= from ? Math.round((to - from) * 1000) / 1000 : 0);
    const now = performance.now();
    const size = (d: DirectionState) => (d.size > 0 ? d.size : d.headers ? declaredLength(d.headers) : 0);
    const record: AnalyticsRecord = {
      ...statistics(vars?.get(statisticsVariable)),
      client_received_start_timestamp: this.startedAt,
      apiproxy: context.proxy,
      apiproxy_revision: String(this.compiled.proxy.generation),
      environment: snapshot.environmentName,
      dataplane: snapshot.dataPlane,
      developer_app: text('developer.app.name'),
      api_product: text('apiproduct.name'),
      developer_email: text('developer.email') || text('developer.name'),
      client_ip: this.attributes?.clientIp ?? '',
      request_verb: request.pseudo.get(':method') ?? '',
      request_path: pathOnly(request.pseudo.get(':path') ?? '/'),
      response_status_code: clientStatus,
      target_response_code: this.targetStatus,
      x_apigee_fault_code: faultCode,
      ax_execution_fault_policy_name: faultCode ? text('fault.policy') : '',
      is_error: faultCode !== '' || clientStatus >= 400 || this.outcome === 'internal_error' ? 1 : 0,
      total_response_time: ms(this.startedMs, now),
      target_response_time: ms(this.forwardedMs, this.targetAnsweredMs),
      request_processing_latency: Math.round(this.requestWork * 1e6) / 1000,
      response_processing_latency: Math.round(this.responseWork * 1e6) / 1000,
      request_size: size(this.dir.request),
      response_size: size(this.dir.response),
      request_id: context.requestId,
      trace_id: context.traceId,
    };
    this.deps.analytics!.record(record);
  }

  /** Runs once, when the stream is over: postClientFlow (if it has steps), then the books. */
  private finish(): void | Promise<void> {
    if (this.finished) return;
    this.finished = true;
    this.idle.delete(this);
    if (!this.closed) {
      this.closed = true;
      this.call.end();
    }
    if (!this.run?.hasPostClient) return this.settle();
    this.offload.startPhase(); // postClientFlow's own budget
    return this.run.runPostClient().then(
      () => this.settle(),
      (err: unknown) => {
        this.log.error({ err }, 'postClientFlow failed');
        this.settle();
      },
    );
  }

  /** The books of a stream that is over: the debug capture, the body budget, metrics, analytics, the trace. */
  private settle(): void {
    if (this.capture) {
      try {
        this.endCapture(this.capture);
      } catch (err) {
        this.log.warn({ err: (err as Error).message }, 'debug capture failed; dropped');
      }
    }
    this.endWork();
    this.deps.bodyBudget.release(this.dir.request.reserved + this.dir.response.reserved);
    this.dir.request.reserved = this.dir.response.reserved = 0;
    if (this.deps.analytics?.enabled) this.recordAnalytics();
    this.trace?.end({
      proxy: this.context?.proxy ?? '',
      requestId: this.context?.requestId ?? '',
      outcome: this.outcome,
      app: this.context?.app,
      faultCode: this.context?.faultCode,
    });
    this.deps.metrics.streamEnded(this.outcome);
    this.deps.streams.active--;
  }
}

/** The request's credential headers as the client sent them: masked wherever they appear in a capture. */
function presentedCredentials(headers: ReceivedHeaders | undefined): string[] {
  const out: string[] = [];
  for (const [name, values] of headers?.values ?? []) {
    for (const value of values) {
      if (name === 'authorization' || name === 'proxy-authorization') out.push(...authorizationCredentials(value));
      else if (name === 'cookie')
        for (const pair of value.split(';')) {
          const eq = pair.indexOf('=');
          if (eq >= 0) out.push(pair.slice(eq + 1).trim());
        }
    }
  }
  return out;
}

/** Dimensions StatisticsCollector set (an object of typed values in one variable). */
function statistics(value: unknown): Record<string, DimensionValue> {
  return value !== null && typeof value === 'object' ? (value as Record<string, DimensionValue>) : {};
}

/**
 * The reply to a stage's message: its own field (with the CommonResponse, when something changed) and
 * the dynamic metadata. Literals with the field named (a computed key builds the object the slow way).
 */
function stageReply(stage: Stage, response?: CommonResponse, dynamicMetadata?: Metadata): ProcessingResponse {
  const body = response === undefined ? {} : { response };
  switch (stage) {
    case 'requestHeaders':
      return dynamicMetadata ? { requestHeaders: body, dynamicMetadata } : { requestHeaders: body };
    case 'requestBody':
      return dynamicMetadata ? { requestBody: body, dynamicMetadata } : { requestBody: body };
    case 'requestTrailers':
      return dynamicMetadata ? { requestTrailers: {}, dynamicMetadata } : { requestTrailers: {} };
    case 'responseHeaders':
      return dynamicMetadata ? { responseHeaders: body, dynamicMetadata } : { responseHeaders: body };
    case 'responseBody':
      return dynamicMetadata ? { responseBody: body, dynamicMetadata } : { responseBody: body };
    case 'responseTrailers':
      return dynamicMetadata ? { responseTrailers: {}, dynamicMetadata } : { responseTrailers: {} };
  }
}

function hasKeys(object: object): boolean {
  for (const _key in object) return true;
  return false;
}

/** The content-length a message declares (0 when absent or not a length). */
function declaredLength(headers: ReceivedHeaders): number {
  const value = headers.first('content-length');
  const n = value === undefined ? 0 : Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
