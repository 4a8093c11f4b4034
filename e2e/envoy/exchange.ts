// Envoy's half of the ext_proc protocol for one HTTP request, as its ext_proc filter plays it: one
// stream per request with the route's `x-gatehouse-route` metadata, the processing mode's phases in
// order, the listener's attributes on the first message, one reply awaited per message within
// message_timeout, mutations and immediate responses applied, failure_mode_allow on errors. It
// produces what reached the upstream and what the client got, plus every rule the server broke.
import * as grpc from '@grpc/grpc-js';
import { GatehouseError } from '../../lib/errors.ts';
import type { ProcessingRequest } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingRequest.ts';
import type { ProcessingResponse__Output } from '../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { statusNumber, type ExternalProcessorClient } from './client.ts';
import {
  applyHeaderMutation,
  MutationRefused,
  type HeaderList,
  type HttpRequest,
  type HttpResponse,
  type MutationCheck,
  type MutationViolation,
} from './http.ts';
import { ReplyReader, StreamFailure } from './reply-reader.ts';

export type HeaderSendMode = 'SEND' | 'SKIP';
export type BodySendMode = 'NONE' | 'BUFFERED' | 'STREAMED';

/** envoy.extensions.filters.http.ext_proc.v3.ProcessingMode, the parts this driver plays. */
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

export interface ConnectionInfo {
  sourceAddress?: string;
  requestId?: string;
  mtls?: boolean;
  routeName?: string;
}

export interface ExchangeOptions {
  client: ExternalProcessorClient;
  /** `<namespace>/<proxy>`, sent as x-gatehouse-route metadata; undefined sends none. */
  route?: string;
  /** Further gRPC initial metadata (grpc_service.initial_metadata, ExtProcPerRoute grpc_initial_metadata). */
  initialMetadata?: HeaderList;
  /** The filter's mutation_rules (default: host and x-envoy-* refused). */
  mutationCheck?: MutationCheck;
  mode?: ProcessingMode;
  request: HttpRequest;
  upstream: (request: HttpRequest) => HttpResponse | Promise<HttpResponse>;
  connection?: ConnectionInfo;
  /** Envoy's message_timeout (default 200 ms). */
  timeoutMs?: number;
  failureModeAllow?: boolean;
  /** STREAMED body modes: bytes per chunk (default 16 KiB). */
  chunkBytes?: number;
}

export interface ExchangeResult {
  /** What reached the upstream; undefined when the exchange was answered before it. */
  upstreamRequest: HttpRequest | undefined;
  /** What the client got. */
  response: HttpResponse;
  /** The ImmediateResponse's details, when one was sent. */
  immediateDetails?: string;
  /** Why ext_proc processing failed (timeout, gRPC error, protocol violation), when it did. */
  failure?: string;
  /** Every reply, in order. */
  replies: ProcessingResponse__Output[];
  /** Replies that came after Envoy stopped expecting any (must be empty). */
  spurious: ProcessingResponse__Output[];
  violations: MutationViolation[];
}

type Phase =
  'requestHeaders' | 'requestBody' | 'requestTrailers' | 'responseHeaders' | 'responseBody' | 'responseTrailers';

class ImmediateAnswer extends GatehouseError {
  readonly response: HttpResponse;
  readonly details: string;
  constructor(response: HttpResponse, details: string) {
    super('GH_ERR_DEVPROXY_IMMEDIATE_RESPONSE', 'ext_proc answered with an immediate response');
    this.response = response;
    this.details = details;
  }
}

function toHeaderMap(pseudo: HeaderList, headers: HeaderList) {
  return { headers: [...pseudo, ...headers].map(([key, value]) => ({ key, rawValue: Buffer.from(value, 'latin1') })) };
}

function attributesOf(c: ConnectionInfo | undefined): ProcessingRequest['attributes'] {
  if (!c) return {};
  const fields: Record<string, { stringValue?: string; boolValue?: boolean }> = {};
  if (c.sourceAddress !== undefined) fields['source.address'] = { stringValue: c.sourceAddress };
  if (c.requestId !== undefined) fields['request.id'] = { stringValue: c.requestId };
  if (c.mtls !== undefined) fields['connection.mtls'] = { boolValue: c.mtls };
  if (c.routeName !== undefined) fields['xds.route_name'] = { stringValue: c.routeName };
  return { 'envoy.filters.http.ext_proc': { fields } };
}

function chunksOf(body: Buffer, mode: BodySendMode, size: number): Buffer[] {
  if (mode !== 'STREAMED' || body.length <= size) return [body];
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += size) out.push(body.subarray(i, i + size));
  return out;
}

export async function runExtProcExchange(options: ExchangeOptions): Promise<ExchangeResult> {
  const mode = { ...DEFAULT_MODE, ...options.mode };
  const timeoutMs = options.timeoutMs ?? 200;
  const metadata = new grpc.Metadata();
  if (options.route !== undefined) metadata.set('x-gatehouse-route', options.route);
  for (const [key, value] of options.initialMetadata ?? []) metadata.add(key, value);
  const call = options.client.process(metadata);
  const reader = new ReplyReader(call);
  const violations: MutationViolation[] = [];
  const replies: ProcessingResponse__Output[] = [];
  let attributesSent = false;

  const ask = async (
    phase: Phase,
    message: Omit<ProcessingRequest, 'attributes'>,
  ): Promise<ProcessingResponse__Output> => {
    call.write(attributesSent ? message : { ...message, attributes: attributesOf(options.connection) });
    attributesSent = true;
    const reply = await reader.next(timeoutMs);
    replies.push(reply);
    if (reply.response === 'immediateResponse') {
      const ir = reply.immediateResponse!;
      const headers = applyHeaderMutation([], ir.headers, () => false, violations, options.mutationCheck);
      throw new ImmediateAnswer(
        { status: statusNumber(ir.status?.code ?? 0) || 200, headers, body: ir.body },
        ir.details,
      );
    }
    if (reply.response !== phase) throw new StreamFailure(`spurious reply: ${reply.response ?? 'empty'} to ${phase}`);
    return reply;
  };

  let req: HttpRequest = { ...options.request, headers: [...options.request.headers] };
  let upstreamRequest: HttpRequest | undefined;
  let upstreamResponse: HttpResponse | undefined;
  try {
    req = await processRequest(req, mode, options.chunkBytes ?? 16384, ask, violations, options.mutationCheck);
    upstreamRequest = req;
    upstreamResponse = await options.upstream(req);
    const res = await processResponse(
      upstreamResponse,
      mode,
      options.chunkBytes ?? 16384,
      ask,
      violations,
      options.mutationCheck,
    );
    call.end();
    const spurious = await reader.closed(timeoutMs);
    return { upstreamRequest, response: res, replies, spurious, violations };
  } catch (err) {
    call.end();
    if (err instanceof ImmediateAnswer) {
      const spurious = await reader.closed(timeoutMs);
      return { upstreamRequest, response: err.response, immediateDetails: err.details, replies, spurious, violations };
    }
    if (!(err instanceof StreamFailure) && !(err instanceof MutationRefused)) throw err;
    call.cancel();
    return failed(options, err.message, req, upstreamRequest, upstreamResponse, replies, violations);
  }
}

/**
 * failure_mode_allow: carry on as if there were no ext_proc (with the upstream's response when it had
 * already come, never sending the request twice); else Envoy's local reply (504 on timeout, 500 otherwise).
 */
async function failed(
  options: ExchangeOptions,
  failure: string,
  req: HttpRequest,
  upstreamRequest: HttpRequest | undefined,
  upstreamResponse: HttpResponse | undefined,
  replies: ProcessingResponse__Output[],
  violations: MutationViolation[],
): Promise<ExchangeResult> {
  if (options.failureModeAllow) {
    const sent = upstreamRequest ?? req;
    return {
      upstreamRequest: sent,
      response: upstreamResponse ?? (await options.upstream(sent)),
      failure,
      replies,
      spurious: [],
      violations,
    };
  }
  const status = failure.startsWith('message_timeout') ? 504 : 500;
  return {
    upstreamRequest,
    response: { status, headers: [['content-type', 'text/plain']], body: Buffer.from('ext_proc error') },
    failure,
    replies,
    spurious: [],
    violations,
  };
}

type Ask = (phase: Phase, message: Omit<ProcessingRequest, 'attributes'>) => Promise<ProcessingResponse__Output>;

async function processRequest(
  req: HttpRequest,
  mode: Required<ProcessingMode>,
  chunkBytes: number,
  ask: Ask,
  violations: MutationViolation[],
  check?: MutationCheck,
): Promise<HttpRequest> {
  let out = req;
  const hasBody = (req.body?.length ?? 0) > 0;
  const hasTrailers = (req.trailers?.length ?? 0) > 0;
  let bodyReplaced = false;
  const pseudoSetter = (name: string, value: string): boolean => {
    if (name === ':path') out = { ...out, path: value };
    else if (name === ':method') out = { ...out, method: value };
    else return false;
    return true;
  };
  const applyCommon = (reply: ProcessingResponse__Output, key: 'requestHeaders' | 'requestBody') => {
    const common = reply[key]?.response;
    if (!common) return;
    const headers = applyHeaderMutation(out.headers, common.headerMutation, pseudoSetter, violations, check); // may set out.path
    out = { ...out, headers };
    if (common.bodyMutation?.mutation === 'body') out = { ...out, body: common.bodyMutation.body };
    if (common.bodyMutation?.mutation === 'clearBody') out = { ...out, body: Buffer.alloc(0) };
    if (common.status === 'CONTINUE_AND_REPLACE') bodyReplaced = true;
  };
  if (mode.requestHeaderMode === 'SEND') {
    const pseudo: HeaderList = [
      [':method', req.method],
      [':path', req.path],
      [':scheme', req.scheme ?? 'http'],
      [':authority', req.authority ?? 'localhost'],
    ];
    applyCommon(
      await ask('requestHeaders', {
        requestHeaders: { headers: toHeaderMap(pseudo, req.headers), endOfStream: !hasBody && !hasTrailers },
      }),
      'requestHeaders',
    );
  }
  if (hasBody && mode.requestBodyMode !== 'NONE' && !bodyReplaced) {
    const chunks = chunksOf(req.body!, mode.requestBodyMode, chunkBytes);
    const parts: Buffer[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const last = i === chunks.length - 1 && !hasTrailers;
      const reply = await ask('requestBody', { requestBody: { body: chunk, endOfStream: last } });
      const mutation = reply.requestBody?.response?.bodyMutation;
      parts.push(
        mutation?.mutation === 'body' ? mutation.body! : mutation?.mutation === 'clearBody' ? Buffer.alloc(0) : chunk,
      );
      const headers = applyHeaderMutation(
        out.headers,
        reply.requestBody?.response?.headerMutation,
        pseudoSetter,
        violations,
        check,
      );
      out = { ...out, headers };
    }
    out = { ...out, body: Buffer.concat(parts) };
  }
  if (hasTrailers && mode.requestTrailerMode === 'SEND' && !bodyReplaced) {
    await ask('requestTrailers', { requestTrailers: { trailers: toHeaderMap([], req.trailers!) } });
  }
  return out;
}

async function processResponse(
  res: HttpResponse,
  mode: Required<ProcessingMode>,
  chunkBytes: number,
  ask: Ask,
  violations: MutationViolation[],
  check?: MutationCheck,
): Promise<HttpResponse> {
  let out = res;
  const hasBody = res.body.length > 0;
  const hasTrailers = (res.trailers?.length ?? 0) > 0;
  let bodyReplaced = false;
  const pseudoSetter = (name: string, value: string): boolean => {
    if (name !== ':status') return false;
    out = { ...out, status: Number(value) };
    return true;
  };
  if (mode.responseHeaderMode === 'SEND') {
    const reply = await ask('responseHeaders', {
      responseHeaders: {
        headers: toHeaderMap([[':status', String(res.status)]], res.headers),
        endOfStream: !hasBody && !hasTrailers,
      },
    });
    const common = reply.responseHeaders?.response;
    const headers = applyHeaderMutation(out.headers, common?.headerMutation, pseudoSetter, violations, check); // may set out.status
    out = { ...out, headers };
    if (common?.bodyMutation?.mutation === 'body') out = { ...out, body: common.bodyMutation.body! };
    bodyReplaced = common?.status === 'CONTINUE_AND_REPLACE';
  }
  if (hasBody && mode.responseBodyMode !== 'NONE' && !bodyReplaced) {
    const chunks = chunksOf(res.body, mode.responseBodyMode, chunkBytes);
    const parts: Buffer[] = [];
    for (const [i, chunk] of chunks.entries()) {
      const reply = await ask('responseBody', {
        responseBody: { body: chunk, endOfStream: i === chunks.length - 1 && !hasTrailers },
      });
      const common = reply.responseBody?.response;
      parts.push(common?.bodyMutation?.mutation === 'body' ? common.bodyMutation.body! : chunk);
      const headers = applyHeaderMutation(out.headers, common?.headerMutation, pseudoSetter, violations, check); // may set out.status
      out = { ...out, headers };
    }
    out = { ...out, body: Buffer.concat(parts) };
  }
  if (hasTrailers && mode.responseTrailerMode === 'SEND' && !bodyReplaced) {
    await ask('responseTrailers', { responseTrailers: { trailers: toHeaderMap([], res.trailers!) } });
  }
  return out;
}
