// Envoy's half of the ext_proc protocol for one HTTP request, as the ext_proc filter of Envoy v1.36
// plays it (source/extensions/filters/http/ext_proc/ext_proc.cc and processor_state.cc). One gRPC
// stream per request, opened with the first message; per direction the processing mode's phases in
// order, each message answered by exactly one reply within message_timeout; attributes on each
// direction's first message; header and body mutations under the mutation rules; content-length
// kept, validated or removed as Envoy does; mode_override, override_message_timeout, clear_route_cache;
// immediate responses; failure_mode_allow for stream errors, timeouts and spurious replies (invalid
// mutations always fail); buffer limits. devproxy has every body whole before it sends anything, so
// it plays a client that sent the whole request at once (see devproxy/README.md).
import * as grpc from '@grpc/grpc-js';
import type { ProcessingMode__Output as WireProcessingMode } from '../../../protos/gen/envoy/envoy/extensions/filters/http/ext_proc/v3/ProcessingMode.ts';
import type { BodyMutation__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/BodyMutation.ts';
import type { CommonResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/CommonResponse.ts';
import type { ImmediateResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ImmediateResponse.ts';
import type { ProcessingRequest } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import type { TrailersResponse__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/TrailersResponse.ts';
import { localReply } from '../http/local-reply.ts';
import { header, withoutHeader, type HeaderList, type HttpRequest, type HttpResponse } from '../http/message.ts';
import {
  evaluateRequestAttributes,
  evaluateResponseAttributes,
  presentAttributes,
  type ConnectionInfo,
} from './attributes.ts';
import { statusNumber, type ExternalProcessorClient } from './client.ts';
import { receiveDynamicMetadata, type DynamicMetadata } from './dynamic-metadata.ts';
import {
  ContentLengthMismatchError,
  ExtProcGrpcError,
  ExtProcMessageTimeoutError,
  ExtProcSpuriousMessageError,
  ExtProcStreamClosedError,
  HeaderMutationRejectedError,
  InvalidHeaderMutationError,
  type ExtProcError,
} from './errors.ts';
import { applyHeaderMutations, type HeaderLimits, type MutationViolation } from './header-mutation.ts';
import { Checker, type MutationRules } from './mutation-rules.ts';
import { ProcessorStream, type ProcessorEvent } from './processor-stream.ts';

export type { ConnectionInfo };

export type HeaderSendMode = 'SEND' | 'SKIP';
/** The body modes devproxy plays (BUFFERED_PARTIAL and FULL_DUPLEX_STREAMED are rejected in config). */
export type BodySendMode = 'NONE' | 'BUFFERED' | 'STREAMED';

/** envoy.extensions.filters.http.ext_proc.v3.ProcessingMode with DEFAULTs resolved (headers SEND, trailers SKIP). */
export interface ProcessingMode {
  requestHeaderMode?: HeaderSendMode;
  responseHeaderMode?: HeaderSendMode;
  requestBodyMode?: BodySendMode;
  responseBodyMode?: BodySendMode;
  requestTrailerMode?: HeaderSendMode;
  responseTrailerMode?: HeaderSendMode;
}

/** Envoy's defaults: headers both ways, no bodies, no trailers. */
export const DEFAULT_MODE: Required<ProcessingMode> = {
  requestHeaderMode: 'SEND',
  responseHeaderMode: 'SEND',
  requestBodyMode: 'NONE',
  responseBodyMode: 'NONE',
  requestTrailerMode: 'SKIP',
  responseTrailerMode: 'SKIP',
};

/** ExternalProcessor.route_cache_action (disable_clear_route_cache is RETAIN). */
export type RouteCacheAction = 'DEFAULT' | 'CLEAR' | 'RETAIN';

/** What the router needs besides the request: whether ext_proc cleared the route cache (re-select the route). */
export interface UpstreamRouting {
  clearRouteCache: boolean;
}

/** Envoy's per-connection buffer limit when none is configured (listener per_connection_buffer_limit_bytes). */
export const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

export interface ExchangeOptions {
  client: ExternalProcessorClient;
  /** `<namespace>/<proxy>`, sent as x-gatehouse-route metadata; undefined sends none. */
  route?: string;
  /** Further gRPC initial metadata (grpc_service.initial_metadata, ExtProcPerRoute grpc_initial_metadata). */
  initialMetadata?: HeaderList;
  /** The filter's mutation_rules (default: the empty rules Envoy applies when none are set). */
  mutationRules?: MutationRules;
  /** The processing mode for this request (the route's, else the filter's). */
  mode?: ProcessingMode;
  /** The filter's own processing_mode: a mode_override's DEFAULT header and trailer modes come from it (default: `mode`). */
  filterMode?: ProcessingMode;
  /** allow_mode_override: honour a mode_override in the reply to a headers message. */
  allowModeOverride?: boolean;
  request: HttpRequest;
  /** The router: sends the request upstream (or answers locally, marking the response a local reply). */
  upstream: (request: HttpRequest, routing: UpstreamRouting) => HttpResponse | Promise<HttpResponse>;
  connection?: ConnectionInfo;
  /** request_attributes (default: every attribute `connection` has a value for). */
  requestAttributes?: readonly string[];
  /** response_attributes (default: none). */
  responseAttributes?: readonly string[];
  /** message_timeout (default 200 ms). */
  timeoutMs?: number;
  /** max_message_timeout: the longest override_message_timeout honoured; 0 (default) ignores every override. */
  maxMessageTimeoutMs?: number;
  failureModeAllow?: boolean;
  /** STREAMED body modes: bytes per chunk (default 16 KiB). */
  chunkBytes?: number;
  /** The stream's buffer limit: a BUFFERED body over it is a 413 (request) or a 500 (response). Default 1 MiB. */
  bufferLimitBytes?: number;
  routeCacheAction?: RouteCacheAction;
  /** disable_immediate_response: an ImmediateResponse is a spurious message. */
  disableImmediateResponse?: boolean;
  /** The header maps' limits a mutation must keep within. */
  headerLimits?: HeaderLimits;
  /** metadata_options.receiving_namespaces.untyped: the dynamic metadata namespaces a reply may set (default none). */
  receivingNamespaces?: readonly string[];
}

export interface ExchangeResult {
  /** What reached the upstream; undefined when the exchange was answered before it. */
  upstreamRequest: HttpRequest | undefined;
  /** What the client got (before the connection manager's own response headers). */
  response: HttpResponse;
  /** The ImmediateResponse's details, when one was sent. */
  immediateDetails?: string;
  /** Why ext_proc processing stopped early (timeout, gRPC error or close, spurious reply, bad mutation), when it did. */
  failure?: string;
  /** The stable code of that failure. */
  failureCode?: string;
  /** Every reply, in order. */
  replies: ProcessingResponse__Output[];
  /** Replies that came after Envoy closed the stream (Envoy drops them; a correct server sends none). */
  spurious: ProcessingResponse__Output[];
  /** Mutations the rules refused (rejected_header_mutations). */
  violations: MutationViolation[];
  /** What replies wrote into the stream's dynamic metadata (receiving namespaces only). */
  dynamicMetadata: DynamicMetadata;
}

type Phase =
  'requestHeaders' | 'requestBody' | 'requestTrailers' | 'responseHeaders' | 'responseBody' | 'responseTrailers';

/** One direction's ProcessorState: what its mode sends and how far it got. */
class DirectionState {
  sendHeaders = true;
  bodyMode: BodySendMode = 'NONE';
  sendTrailers = false;
  attributesSent = false;
  /** CONTINUE_AND_REPLACE: nothing more is sent for this direction. */
  bodyReplaced = false;
  readonly direction: 'request' | 'response';

  constructor(direction: 'request' | 'response', mode: Required<ProcessingMode>) {
    this.direction = direction;
    this.setMode(mode);
  }

  /** setProcessingModeInternal. */
  setMode(mode: Required<ProcessingMode>): void {
    const request = this.direction === 'request';
    this.sendHeaders = (request ? mode.requestHeaderMode : mode.responseHeaderMode) !== 'SKIP';
    this.bodyMode = request ? mode.requestBodyMode : mode.responseBodyMode;
    this.sendTrailers = (request ? mode.requestTrailerMode : mode.responseTrailerMode) === 'SEND';
  }

  /** ProcessorState::shouldRemoveContentLength. */
  shouldRemoveContentLength(): boolean {
    return this.bodyMode === 'STREAMED' || (this.bodyMode === 'BUFFERED' && !this.sendHeaders);
  }
}

type Ask = { reply: ProcessingResponse__Output } | { stop: HttpResponse } | { done: true };

const toHeaderMap = (headers: HeaderList) => ({
  headers: headers.map(([key, value]) => ({ key, rawValue: Buffer.from(value, 'latin1') })),
});

/** StringUtil::replaceAllEmptySpace, as Envoy writes response code details. */
const details = (text: string) => text.replace(/\s/g, '_');

function chunksOf(body: Buffer, size: number): Buffer[] {
  if (body.length <= size) return [body];
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

/** MutationUtils::applyBodyMutations: `body` replaces, `clear_body: true` empties, anything else leaves it. */
function applyBodyMutation(m: BodyMutation__Output, body: Buffer): Buffer {
  if (m.mutation === 'body') return m.body ?? Buffer.alloc(0);
  if (m.mutation === 'clearBody' && m.clearBody) return Buffer.alloc(0);
  return body;
}

/** The request's header map as Envoy holds it: pseudo-headers first. */
function requestHeaderMap(r: HttpRequest): HeaderList {
  return [
    [':method', r.method],
    [':path', r.path],
    [':scheme', r.scheme ?? 'http'],
    [':authority', r.authority ?? ''],
    ...r.headers,
  ];
}

function fromRequestHeaderMap(r: HttpRequest, map: HeaderList): HttpRequest {
  const last = (name: string) => map.filter(([n]) => n === name).at(-1)?.[1];
  return {
    ...r,
    method: last(':method') ?? r.method,
    path: last(':path') ?? r.path,
    scheme: last(':scheme') ?? r.scheme,
    authority: last(':authority') ?? r.authority,
    headers: map.filter(([n]) => !n.startsWith(':')),
  };
}

function fromResponseHeaderMap(r: HttpResponse, map: HeaderList): HttpResponse {
  const status = map.filter(([n]) => n === ':status').at(-1)?.[1];
  return {
    ...r,
    status: status === undefined ? r.status : Number(status),
    headers: map.filter(([n]) => !n.startsWith(':')),
  };
}

export function runExtProcExchange(options: ExchangeOptions): Promise<ExchangeResult> {
  return new Exchange(options).run();
}

class Exchange {
  private readonly o: ExchangeOptions;
  private readonly checker: Checker;
  private readonly decoding: DirectionState;
  private readonly encoding: DirectionState;
  private readonly filterMode: Required<ProcessingMode>;
  private readonly timeoutMs: number;
  private readonly bufferLimit: number;
  private readonly replies: ProcessingResponse__Output[] = [];
  private readonly violations: MutationViolation[] = [];
  private stream: ProcessorStream | undefined;
  /** processing_complete_: no more messages; the request goes on as if there were no processor. */
  private complete = false;
  /** A local reply decided while no message was outstanding (a stream error or spurious reply then). */
  private pendingStop: HttpResponse | undefined;
  private failure: ExtProcError | undefined;
  private immediateDetails: string | undefined;
  private clearRouteCache = false;
  private request: HttpRequest;
  private response: HttpResponse | undefined;
  private readonly dynamicMetadata: DynamicMetadata = new Map();

  constructor(o: ExchangeOptions) {
    this.o = o;
    const mode = { ...DEFAULT_MODE, ...o.mode };
    this.filterMode = { ...DEFAULT_MODE, ...(o.filterMode ?? o.mode) };
    this.checker = new Checker(o.mutationRules);
    this.decoding = new DirectionState('request', mode);
    this.encoding = new DirectionState('response', mode);
    this.timeoutMs = o.timeoutMs ?? 200;
    this.bufferLimit = o.bufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES;
    this.request = { ...o.request, headers: [...o.request.headers] };
  }

  async run(): Promise<ExchangeResult> {
    const stopped = await this.decode();
    if (stopped) return this.result(undefined, stopped);
    const sent = this.request;
    let upstream = await this.o.upstream(sent, { clearRouteCache: this.clearRouteCache });
    if (this.pendingStop) return this.result(sent, this.pendingStop);
    if (upstream.localReply) {
      // Filter::onLocalReply: Envoy's own replies are never sent to the processor.
      this.complete = true;
      return this.result(sent, upstream);
    }
    this.response = { ...upstream, headers: [...upstream.headers] };
    const answered = await this.encode();
    upstream = answered ?? this.response;
    return this.result(sent, upstream);
  }

  private result(upstreamRequest: HttpRequest | undefined, response: HttpResponse): ExchangeResult {
    this.complete = true;
    this.stream?.close();
    return {
      upstreamRequest,
      response,
      replies: this.replies,
      spurious: this.stream?.late ?? [],
      violations: this.violations,
      dynamicMetadata: this.dynamicMetadata,
      ...(this.immediateDetails !== undefined ? { immediateDetails: this.immediateDetails } : {}),
      ...(this.failure ? { failure: this.failure.message, failureCode: this.failure.code } : {}),
    };
  }

  private open(): ProcessorStream {
    if (this.stream) return this.stream;
    const metadata = new grpc.Metadata();
    if (this.o.route !== undefined) metadata.set('x-gatehouse-route', this.o.route);
    for (const [key, value] of this.o.initialMetadata ?? []) metadata.add(key, value);
    this.stream = new ProcessorStream(this.o.client.process(metadata), (event) => this.onUnexpected(event));
    return this.stream;
  }

  /**
   * A failure of processing (Filter::onGrpcClose, onGrpcError, onMessageTimeout, spurious messages,
   * handleErrorResponse). Processing is complete either way; returns Envoy's local reply, or undefined
   * when the request goes on without the processor: a close with status OK always, stream errors,
   * timeouts and spurious replies with failure_mode_allow. Invalid mutations always answer.
   */
  private fail(error: ExtProcError): HttpResponse | undefined {
    this.failure ??= error;
    this.complete = true;
    this.stream?.close();
    if (error instanceof ExtProcStreamClosedError) return undefined;
    const alwaysFatal =
      error instanceof InvalidHeaderMutationError ||
      error instanceof HeaderMutationRejectedError ||
      error instanceof ContentLengthMismatchError;
    if (this.o.failureModeAllow && !alwaysFatal) return undefined;
    if (error instanceof ExtProcMessageTimeoutError)
      return localReply(504, '', 'ext_proc_error_per-message_timeout_exceeded', { request: this.request });
    const why =
      error instanceof ExtProcGrpcError
        ? `ext_proc_error_gRPC_error_${error.grpcCode}{${error.message}}`
        : error.message;
    return localReply(500, '', details(why), { request: this.request });
  }

  /** A reply or stream end while no message was outstanding: Envoy acts on it when it arrives. */
  private onUnexpected(event: ProcessorEvent): void {
    if (this.complete || this.pendingStop) return;
    if ('error' in event) {
      this.pendingStop = this.fail(event.error);
      return;
    }
    this.replies.push(event.reply);
    if (event.reply.overrideMessageTimeout) return; // no timer runs: ignored
    this.receiveMetadata(event.reply);
    if (event.reply.response === 'immediateResponse' && !this.o.disableImmediateResponse) {
      this.pendingStop = this.immediate(event.reply.immediateResponse!);
      return;
    }
    this.pendingStop = this.fail(
      new ExtProcSpuriousMessageError(
        `spurious message: ${event.reply.response ?? 'no response'} while no message was outstanding`,
      ),
    );
  }

  /** Filter::sendImmediateResponse. */
  private immediate(ir: ImmediateResponse__Output): HttpResponse {
    this.complete = true;
    this.stream?.close();
    const code = ir.status ? statusNumber(ir.status.code) : 200;
    this.immediateDetails = details(ir.details);
    return localReply(code >= 200 ? code : 200, ir.body, this.immediateDetails, {
      request: this.request,
      ...(ir.grpcStatus ? { grpcStatus: ir.grpcStatus.status } : {}),
      // Mutation errors are only logged; the entries after the failing one are not applied.
      modifyHeaders: (headers) =>
        applyHeaderMutations(headers, ir.headers, {
          checker: this.checker,
          rejected: this.violations,
          ...this.limits(),
        }).headers.filter(([n]) => !n.startsWith(':')),
    });
  }

  private limits(): { limits?: HeaderLimits } {
    return this.o.headerLimits ? { limits: this.o.headerLimits } : {};
  }

  /** Sends a message (with the direction's attributes the first time) and waits for its reply. */
  private async ask(
    state: DirectionState,
    message: Omit<ProcessingRequest, 'attributes'>,
    expected: Phase,
  ): Promise<Ask> {
    const stream = this.open();
    let attributes: ProcessingRequest['attributes'] | undefined;
    if (!state.attributesSent) {
      const names =
        state.direction === 'request'
          ? (this.o.requestAttributes ?? presentAttributes(this.o.connection))
          : (this.o.responseAttributes ?? []);
      if (names.length > 0) {
        attributes =
          state.direction === 'request'
            ? evaluateRequestAttributes(names, this.o.connection ?? {}, this.request)
            : evaluateResponseAttributes(names, this.response!);
        state.attributesSent = true;
      }
    }
    stream.send(attributes ? { ...message, attributes } : message, this.timeoutMs);
    for (;;) {
      const event = await stream.next();
      if (this.complete) return { done: true }; // closed while waiting (a 413 or 500 for a body over the limit)
      if ('error' in event) {
        stream.finishCall();
        const stop = this.fail(event.error);
        return stop ? { stop } : { done: true };
      }
      const reply = event.reply;
      this.replies.push(reply);
      if (reply.overrideMessageTimeout) {
        this.onNewTimeout(reply.overrideMessageTimeout);
        continue; // the message is only a timer extension
      }
      stream.finishCall();
      if (reply.modeOverride && (expected === 'requestHeaders' || expected === 'responseHeaders'))
        this.modeOverride(reply.modeOverride);
      this.receiveMetadata(reply);
      if (reply.response === 'immediateResponse' && !this.o.disableImmediateResponse)
        return { stop: this.immediate(reply.immediateResponse!) };
      if (reply.response !== expected) {
        const stop = this.fail(
          new ExtProcSpuriousMessageError(
            `spurious message: ${reply.response ?? 'no response'} in reply to ${expected}`,
          ),
        );
        return stop ? { stop } : { done: true };
      }
      return { reply };
    }
  }

  /**
   * Filter::onReceiveMessage: every reply of a known kind sets dynamic metadata before it is acted on
   * (an ImmediateResponse included, unless disable_immediate_response makes it spurious; a reply of
   * the wrong kind too, before it is found spurious); a reply with no response set does not.
   */
  private receiveMetadata(reply: ProcessingResponse__Output): void {
    if (reply.response === undefined) return;
    if (reply.response === 'immediateResponse' && this.o.disableImmediateResponse) return;
    receiveDynamicMetadata(this.o.receivingNamespaces ?? [], reply.dynamicMetadata, this.dynamicMetadata);
  }

  /** Filter::onNewTimeout: 1 ms ..max_message_timeout, once per message. */
  private onNewTimeout(d: { seconds: string | number; nanos: number }): void {
    const ms = Number(d.seconds) * 1000 + Math.floor(d.nanos / 1e6);
    const max = this.o.maxMessageTimeoutMs ?? 0;
    if (ms < 1 || ms > max) {
      this.violations.push({ header: 'override_message_timeout', reason: `${ms} ms outside 1..${max} ms: ignored` });
      return;
    }
    this.stream?.restartTimer(ms);
  }

  /** effectiveModeOverride: header and trailer DEFAULTs from the filter's mode, body modes literal; both directions. */
  private modeOverride(m: WireProcessingMode): void {
    if (!this.o.allowModeOverride) return;
    const bodies = [m.requestBodyMode, m.responseBodyMode];
    if (bodies.some((b) => b !== 'NONE' && b !== 'BUFFERED' && b !== 'STREAMED')) {
      this.violations.push({
        header: 'mode_override',
        reason: `body mode ${bodies.join('/')} is not played by devproxy: ignored`,
      });
      return;
    }
    const pick = <T extends string>(value: string, fallback: T): T => (value === 'DEFAULT' ? fallback : (value as T));
    const f = this.filterMode;
    const mode: Required<ProcessingMode> = {
      requestHeaderMode: pick(m.requestHeaderMode, f.requestHeaderMode),
      responseHeaderMode: pick(m.responseHeaderMode, f.responseHeaderMode),
      requestTrailerMode: pick(m.requestTrailerMode, f.requestTrailerMode),
      responseTrailerMode: pick(m.responseTrailerMode, f.responseTrailerMode),
      requestBodyMode: m.requestBodyMode as BodySendMode,
      responseBodyMode: m.responseBodyMode as BodySendMode,
    };
    this.decoding.setMode(mode);
    this.encoding.setMode(mode);
  }

  /** DecodingProcessorState::clearRouteCache (the response direction never clears it). */
  private maybeClearRouteCache(common: CommonResponse__Output | null): void {
    if (!common?.headerMutation) return;
    const action = this.o.routeCacheAction ?? 'DEFAULT';
    if (action === 'CLEAR' || (action === 'DEFAULT' && common.clearRouteCache)) this.clearRouteCache = true;
  }

  // ---- request direction (decodeHeaders, decodeData, decodeTrailers)

  private async decode(): Promise<HttpResponse | undefined> {
    const st = this.decoding;
    const original = this.request;
    const body = original.body ?? Buffer.alloc(0);
    const hasTrailers = (original.trailers?.length ?? 0) > 0;
    let pending: Promise<Ask> | undefined;
    if (st.sendHeaders) {
      pending = this.ask(
        st,
        {
          requestHeaders: {
            headers: toHeaderMap(requestHeaderMap(original)),
            endOfStream: body.length === 0 && !hasTrailers,
          },
        },
        'requestHeaders',
      );
    }
    if (!this.complete && st.shouldRemoveContentLength())
      this.request = { ...this.request, headers: withoutHeader(this.request.headers, 'content-length') };
    const tooLarge = () => this.tooLarge(st, body);
    if (tooLarge()) return this.requestTooLarge();
    if (pending) {
      const answer = await pending;
      if ('stop' in answer) return answer.stop;
      if ('reply' in answer) {
        const stop = this.onHeadersResponse(st, answer.reply.requestHeaders?.response ?? null);
        if (stop) return stop;
      }
    }
    if (this.pendingStop) return this.pendingStop;
    if (body.length > 0 && !this.complete && !st.bodyReplaced && st.bodyMode !== 'NONE') {
      if (tooLarge()) return this.requestTooLarge();
      const stop = await this.sendBody(st, body, hasTrailers);
      if (stop) return stop;
    }
    if (hasTrailers && !this.complete && st.sendTrailers && !st.bodyReplaced) {
      const answer = await this.ask(
        st,
        { requestTrailers: { trailers: toHeaderMap(original.trailers!) } },
        'requestTrailers',
      );
      if ('stop' in answer) return answer.stop;
      if ('reply' in answer) {
        const stop = this.onTrailersResponse(st, answer.reply.requestTrailers);
        if (stop) return stop;
      }
    }
    return this.pendingStop;
  }

  /** A BUFFERED body over the stream's buffer limit (Envoy buffers it while it waits). */
  private tooLarge(st: DirectionState, body: Buffer): boolean {
    return !this.complete && st.bodyMode === 'BUFFERED' && !st.bodyReplaced && body.length > this.bufferLimit;
  }

  /** ActiveStreamDecoderFilter::requestDataTooLarge: 413, and the HTTP/1 connection closes (the request was not read). */
  private requestTooLarge(): HttpResponse {
    this.complete = true;
    this.stream?.close();
    const reply = localReply(413, 'Payload Too Large', 'request_payload_too_large', { request: this.request });
    return { ...reply, headers: [...reply.headers, ['connection', 'close']] };
  }

  /** ActiveStreamEncoderFilter::responseDataTooLarge: 500 while the response headers are still held. */
  private responseTooLarge(): HttpResponse {
    this.complete = true;
    this.stream?.close();
    return localReply(500, 'Internal Server Error', 'response_payload_too_large', { request: this.request });
  }

  /** The current headers of a direction, pseudo-headers included. */
  private headerMap(st: DirectionState): HeaderList {
    return st.direction === 'request'
      ? requestHeaderMap(this.request)
      : [[':status', String(this.response!.status)], ...this.response!.headers];
  }

  private setHeaderMap(st: DirectionState, map: HeaderList): void {
    if (st.direction === 'request') this.request = fromRequestHeaderMap(this.request, map);
    else this.response = fromResponseHeaderMap(this.response!, map);
  }

  private setBody(st: DirectionState, body: Buffer): void {
    if (st.direction === 'request') this.request = { ...this.request, body };
    else this.response = { ...this.response!, body };
  }

  private currentBody(st: DirectionState): Buffer {
    return (st.direction === 'request' ? this.request.body : this.response!.body) ?? Buffer.alloc(0);
  }

  /** Applies a header mutation to the direction's headers; a failure ends the request with a local reply. */
  private mutateHeaders(
    st: DirectionState,
    common: CommonResponse__Output,
    replacing: boolean,
  ): HttpResponse | undefined {
    const result = applyHeaderMutations(this.headerMap(st), common.headerMutation, {
      checker: this.checker,
      replacing,
      removeContentLength: st.shouldRemoveContentLength(),
      rejected: this.violations,
      requestHeaders: st.direction === 'request',
      ...this.limits(),
    });
    this.setHeaderMap(st, result.headers);
    return result.error ? this.fail(result.error) : undefined;
  }

  /** ProcessorState::handleHeadersResponse. */
  private onHeadersResponse(st: DirectionState, common: CommonResponse__Output | null): HttpResponse | undefined {
    const replacing = common?.status === 'CONTINUE_AND_REPLACE';
    if (common?.headerMutation) {
      const stop = this.mutateHeaders(st, common, replacing);
      if (stop) return stop;
    }
    if (st.direction === 'request') this.maybeClearRouteCache(common);
    if (replacing) {
      if (common.bodyMutation) {
        // handleHeaderContinueAndReplace removes content-length itself: the new body's length is unknown to it.
        this.setHeaderMap(st, withoutHeader(this.headerMap(st), 'content-length'));
        this.setBody(st, applyBodyMutation(common.bodyMutation, this.currentBody(st)));
        st.bodyReplaced = true;
      }
      st.bodyMode = 'NONE';
      st.sendTrailers = false;
    }
    return undefined;
  }

  /** The body messages: one for BUFFERED (handleBufferedBodyCallback), one per chunk for STREAMED. */
  private async sendBody(st: DirectionState, body: Buffer, hasTrailers: boolean): Promise<HttpResponse | undefined> {
    const phase: Phase = st.direction === 'request' ? 'requestBody' : 'responseBody';
    const message = (chunk: Buffer, endOfStream: boolean) => ({ [phase]: { body: chunk, endOfStream } });
    if (st.bodyMode === 'BUFFERED') {
      const answer = await this.ask(st, message(body, !hasTrailers), phase);
      if ('stop' in answer) return answer.stop;
      if (!('reply' in answer)) return undefined;
      const common = answer.reply[phase]?.response ?? null;
      if (common?.headerMutation && st.sendHeaders) {
        // processHeaderMutationIfAvailable: the headers are held until the buffered body is answered.
        const stop = this.mutateHeaders(st, common, false);
        if (stop) return stop;
      }
      if (common?.bodyMutation) {
        const declared = st.sendHeaders ? header(this.headerMap(st), 'content-length') : undefined;
        const replacement = common.bodyMutation.mutation === 'body' ? (common.bodyMutation.body?.length ?? 0) : 0;
        if (declared !== undefined && /^\d+$/.test(declared) && Number(declared) !== replacement) {
          return this.fail(new ContentLengthMismatchError(Number(declared), replacement));
        }
        this.setBody(st, applyBodyMutation(common.bodyMutation, body));
      }
      if (st.direction === 'request') this.maybeClearRouteCache(common);
      return undefined;
    }
    // STREAMED: each reply answers the oldest chunk; a header mutation there is ignored (handleStreamedBodyResponse).
    const chunks = chunksOf(body, this.o.chunkBytes ?? 16384);
    const out: Buffer[] = [];
    for (const [i, chunk] of chunks.entries()) {
      if (this.complete) {
        out.push(...chunks.slice(i)); // the rest passes unprocessed
        break;
      }
      const answer = await this.ask(st, message(chunk, i === chunks.length - 1 && !hasTrailers), phase);
      if ('stop' in answer) return answer.stop;
      const common = 'reply' in answer ? (answer.reply[phase]?.response ?? null) : null;
      out.push(common?.bodyMutation ? applyBodyMutation(common.bodyMutation, chunk) : chunk);
      if (st.direction === 'request' && 'reply' in answer) this.maybeClearRouteCache(common);
    }
    this.setBody(st, Buffer.concat(out));
    return undefined;
  }

  /** ProcessorState::handleTrailersResponse: the mutation applies to the trailers (never a route cache clear). */
  private onTrailersResponse(
    st: DirectionState,
    response: TrailersResponse__Output | null | undefined,
  ): HttpResponse | undefined {
    if (!response?.headerMutation) return undefined;
    const target = st.direction === 'request' ? this.request : this.response!;
    const result = applyHeaderMutations(target.trailers ?? [], response.headerMutation, {
      checker: this.checker,
      rejected: this.violations,
      ...this.limits(),
    });
    if (st.direction === 'request') this.request = { ...this.request, trailers: result.headers };
    else this.response = { ...this.response!, trailers: result.headers };
    return result.error ? this.fail(result.error) : undefined;
  }

  // ---- response direction (encodeHeaders, encodeData, encodeTrailers)

  /**
   * The upstream stopped after its headers (HttpResponse.cut). While this filter still holds them,
   * waiting for a buffered body, the router's local reply goes straight to the codec
   * (FilterManager::sendLocalReply, sendDirectLocalReply), past the processor; once they have gone
   * on, the stream is reset after what came of the body.
   */
  private cutResponse(st: DirectionState, cut: NonNullable<HttpResponse['cut']>): HttpResponse {
    if (!this.complete && st.bodyMode === 'BUFFERED' && !st.bodyReplaced) {
      this.complete = true;
      this.stream?.close();
      return localReply(cut.status, cut.body, cut.details, { request: this.request });
    }
    return { ...this.response!, cut };
  }

  private async encode(): Promise<HttpResponse | undefined> {
    if (this.complete) return undefined;
    const st = this.encoding;
    const original = this.response!;
    const hasTrailers = (original.trailers?.length ?? 0) > 0;
    let pending: Promise<Ask> | undefined;
    if (st.sendHeaders) {
      pending = this.ask(
        st,
        {
          responseHeaders: {
            headers: toHeaderMap(this.headerMap(st)),
            endOfStream: original.body.length === 0 && !hasTrailers && !original.cut,
          },
        },
        'responseHeaders',
      );
    }
    if (!this.complete && st.shouldRemoveContentLength())
      this.response = { ...this.response!, headers: withoutHeader(this.response!.headers, 'content-length') };
    if (this.tooLarge(st, original.body)) return this.responseTooLarge();
    if (pending) {
      const answer = await pending;
      if ('stop' in answer) return answer.stop;
      if ('reply' in answer) {
        const stop = this.onHeadersResponse(st, answer.reply.responseHeaders?.response ?? null);
        if (stop) return stop;
      }
    }
    if (this.pendingStop) return this.pendingStop;
    if (original.cut) return this.cutResponse(st, original.cut);
    if (original.body.length > 0 && !this.complete && !st.bodyReplaced && st.bodyMode !== 'NONE') {
      if (this.tooLarge(st, original.body)) return this.responseTooLarge();
      const stop = await this.sendBody(st, original.body, hasTrailers);
      if (stop) return stop;
    }
    if (hasTrailers && !this.complete && st.sendTrailers && !st.bodyReplaced) {
      const answer = await this.ask(
        st,
        { responseTrailers: { trailers: toHeaderMap(original.trailers!) } },
        'responseTrailers',
      );
      if ('stop' in answer) return answer.stop;
      if ('reply' in answer) {
        const stop = this.onTrailersResponse(st, answer.reply.responseTrailers);
        if (stop) return stop;
      }
    }
    return this.pendingStop;
  }
}
