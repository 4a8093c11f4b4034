// The Envoy side of ext_proc as Envoy v1.36's filter plays it (ext_proc.cc, processor_state.cc),
// driven over real gRPC against a scripted ext_proc server: content-length and body mutations,
// failures and failure_mode_allow, override_message_timeout, mode_override, attributes, immediate
// responses, trailers, buffer limits, local replies and the route cache. Each test is named after the
// Envoy function whose behaviour it pins.
import { RE2JS } from 're2js';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continueAll, startFakeExtProc, type FakeExtProc, type Script } from '../../../e2e/dev/fake-extproc.ts';
import { waitFor } from '../../../e2e/dev/harness.ts';
import type { ProcessingResponse } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/ProcessingResponse.ts';
import { localReply } from '../http/local-reply.ts';
import { header, type HeaderList, type HttpRequest, type HttpResponse } from '../http/message.ts';
import { createExtProcClient, type ExternalProcessorClient } from './client.ts';
import { runExtProcExchange, type ExchangeOptions, type UpstreamRouting } from './exchange.ts';
import { defaultMutationRules } from './mutation-rules.ts';

let fake: FakeExtProc;
let client: ExternalProcessorClient;

beforeAll(async () => {
  fake = await startFakeExtProc();
  client = createExtProcClient(`127.0.0.1:${fake.port}`);
});
afterAll(async () => {
  client.close();
  await fake.close();
});
beforeEach(() => {
  fake.script = continueAll;
  fake.streams.length = 0;
});

const set = (key: string, value: string, append?: boolean) => ({
  header: { key, rawValue: Buffer.from(value) },
  ...(append === undefined ? {} : { append: { value: append } }),
});
const messages = () => fake.streams.at(-1)?.messages ?? [];
const phases = () => messages().map((m) => m.request);
/** Answers `phase` with `reply`, every other message with an empty reply of its kind. */
const on =
  (phase: string, reply: ProcessingResponse | ((m: Parameters<Script>[0]) => ProcessingResponse)): Script =>
  (m) =>
    m.request === phase ? (typeof reply === 'function' ? reply(m) : reply) : continueAll(m, undefined as never);

const post = (body: string, headers: HeaderList = []): HttpRequest => ({
  method: 'POST',
  path: '/p',
  authority: 'api.test',
  scheme: 'http',
  headers: [['content-type', 'application/json'], ['content-length', String(body.length)], ...headers],
  body: Buffer.from(body),
});
const get: HttpRequest = {
  method: 'GET',
  path: '/g',
  authority: 'api.test',
  scheme: 'http',
  headers: [['x-request-id', 'rid']],
};

function upstream(response: Partial<HttpResponse> = {}) {
  const seen: HttpRequest[] = [];
  const routing: UpstreamRouting[] = [];
  return {
    seen,
    routing,
    fn: (req: HttpRequest, r: UpstreamRouting): HttpResponse => {
      seen.push(req);
      routing.push(r);
      return { status: 200, headers: [['content-type', 'text/plain']], body: Buffer.from('upstream'), ...response };
    },
  };
}

function exchange(o: Partial<ExchangeOptions> & Pick<ExchangeOptions, 'request' | 'upstream'>) {
  return runExtProcExchange({ client, timeoutMs: 2000, ...o });
}

describe('ProcessorState::validateContentLength (BUFFERED body replies)', () => {
  const buffered = { requestBodyMode: 'BUFFERED' as const };

  it('a replaced body with the original content-length left in place is a 500, and the upstream is not reached', async () => {
    fake.script = on('requestBody', {
      requestBody: { response: { bodyMutation: { body: Buffer.from('{"longer":true}') } } },
    });
    const u = upstream();
    const r = await exchange({ mode: buffered, request: post('{"a":1}'), upstream: u.fn });
    expect(r.response.status).toBe(500);
    expect(r.response.body.length).toBe(0);
    expect(header(r.response.headers, 'content-type')).toBeUndefined();
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_CONTENT_LENGTH_MISMATCH');
    expect(u.seen).toEqual([]);
  });

  it('a 500 even with failure_mode_allow: a content-length mismatch is never failed open', async () => {
    fake.script = on('requestBody', {
      requestBody: { response: { bodyMutation: { body: Buffer.from('{"longer":true}') } } },
    });
    const r = await exchange({
      mode: buffered,
      request: post('{"a":1}'),
      upstream: upstream().fn,
      failureModeAllow: true,
    });
    expect(r.response.status).toBe(500);
  });

  it('with content-length removed in the same reply, the upstream gets the new body and no content-length', async () => {
    fake.script = on('requestBody', {
      requestBody: {
        response: {
          headerMutation: { removeHeaders: ['content-length'] },
          bodyMutation: { body: Buffer.from('{"longer":true}') },
        },
      },
    });
    const u = upstream();
    const r = await exchange({ mode: buffered, request: post('{"a":1}'), upstream: u.fn });
    expect(r.response.status).toBe(200);
    expect(u.seen[0]!.body!.toString()).toBe('{"longer":true}');
    expect(header(u.seen[0]!.headers, 'content-length')).toBeUndefined();
  });

  it('with content-length set to the new length in the same reply, it is kept', async () => {
    fake.script = on('requestBody', {
      requestBody: {
        response: {
          headerMutation: { setHeaders: [set('content-length', '15')] },
          bodyMutation: { body: Buffer.from('{"longer":true}') },
        },
      },
    });
    const u = upstream();
    await exchange({ mode: buffered, request: post('{"a":1}'), upstream: u.fn });
    expect(header(u.seen[0]!.headers, 'content-length')).toBe('15');
  });

  it('clear_body counts as an empty body: with a content-length above 0 it is a 500', async () => {
    fake.script = on('requestBody', { requestBody: { response: { bodyMutation: { clearBody: true } } } });
    expect(
      (await exchange({ mode: buffered, request: post('{"a":1}'), upstream: upstream().fn })).response.status,
    ).toBe(500);
  });

  it('applies to response bodies too, and clear_body empties a response body whose content-length was removed', async () => {
    fake.script = on('responseBody', { responseBody: { response: { bodyMutation: { body: Buffer.from('x') } } } });
    const mode = { responseBodyMode: 'BUFFERED' as const };
    expect(
      (await exchange({ mode, request: get, upstream: upstream({ headers: [['content-length', '8']] }).fn })).response
        .status,
    ).toBe(500);
    fake.script = on('responseBody', {
      responseBody: {
        response: { headerMutation: { removeHeaders: ['content-length'] }, bodyMutation: { clearBody: true } },
      },
    });
    const cleared = await exchange({
      mode,
      request: get,
      upstream: upstream({ headers: [['content-length', '8']] }).fn,
    });
    expect(cleared.response.status).toBe(200);
    expect(cleared.response.body.length).toBe(0);
  });
});

describe('ProcessorState::handleHeadersResponse', () => {
  it('a body mutation in a headers reply counts only with CONTINUE_AND_REPLACE, which removes content-length and ends body processing', async () => {
    const mode = { requestBodyMode: 'BUFFERED' as const };
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { bodyMutation: { body: Buffer.from('ignored') } } },
    });
    const plain = upstream();
    await exchange({ mode, request: post('{"a":1}'), upstream: plain.fn });
    expect(plain.seen[0]!.body!.toString()).toBe('{"a":1}');
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'responseHeaders']);

    fake.script = on('requestHeaders', {
      requestHeaders: {
        response: { status: 'CONTINUE_AND_REPLACE', bodyMutation: { body: Buffer.from('replaced!') } },
      },
    });
    const replaced = upstream();
    await exchange({ mode, request: post('{"a":1}'), upstream: replaced.fn });
    expect(replaced.seen[0]!.body!.toString()).toBe('replaced!');
    expect(header(replaced.seen[0]!.headers, 'content-length')).toBeUndefined();
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders']);
  });

  it('MutationUtils::applyHeaderMutations: only CONTINUE_AND_REPLACE lets the server change :method', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { headerMutation: { setHeaders: [set(':method', 'PUT')] } } },
    });
    const continued = upstream();
    await exchange({ request: get, upstream: continued.fn });
    expect(continued.seen[0]!.method).toBe('GET');
    fake.script = on('requestHeaders', {
      requestHeaders: {
        response: { status: 'CONTINUE_AND_REPLACE', headerMutation: { setHeaders: [set(':method', 'PUT')] } },
      },
    });
    const replaced = upstream();
    await exchange({ request: get, upstream: replaced.fn });
    expect(replaced.seen[0]!.method).toBe('PUT');
  });

  it(':path is changed only when the mutation rules allow it (disallow_system refuses it)', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { headerMutation: { setHeaders: [set(':path', '/rewritten')] } } },
    });
    const allowed = upstream();
    await exchange({ request: get, upstream: allowed.fn });
    expect(allowed.seen[0]!.path).toBe('/rewritten');
    const refused = upstream();
    const r = await exchange({
      request: get,
      upstream: refused.fn,
      mutationRules: { ...defaultMutationRules, disallowSystem: true },
    });
    expect(refused.seen[0]!.path).toBe('/g');
    expect(r.violations).toEqual([{ header: ':path', reason: 'set refused by the mutation rules' }]);
  });

  // The rules Gatehouse compiles (operator/src/compile/envoy/ext-proc.ts): routing headers allowed,
  // :scheme refused by disallow_expression, a refusal is an error.
  const gatehouseRules = {
    ...defaultMutationRules,
    allowAllRouting: true,
    disallowExpression: RE2JS.compile(':scheme'),
    disallowIsError: true,
  };

  it('HeaderMapImpl: a set of host in the request headers is :authority, the Host the upstream gets (allow_all_routing)', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: {
        response: { headerMutation: { setHeaders: [set('host', 'api.example.com'), set(':method', 'PUT')] } },
      },
    });
    const u = upstream();
    const r = await exchange({ request: get, upstream: u.fn, mutationRules: gatehouseRules });
    expect(u.seen[0]!.authority).toBe('api.example.com');
    expect(header(u.seen[0]!.headers, 'host')).toBeUndefined();
    expect(u.seen[0]!.method).toBe('PUT');
    expect(r.violations).toEqual([]);
  });

  it('Checker::isAllowed: disallow_expression keeps :scheme, disallow_is_error answers status_on_error', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { headerMutation: { setHeaders: [set(':scheme', 'https')] } } },
    });
    const u = upstream();
    const r = await exchange({ request: get, upstream: u.fn, mutationRules: gatehouseRules });
    expect(u.seen).toEqual([]);
    expect(r.response.status).toBe(500);
    expect(r.violations).toEqual([{ header: ':scheme', reason: 'set refused by the mutation rules' }]);
  });
});

describe('ProcessorState::shouldRemoveContentLength', () => {
  it('STREAMED, and BUFFERED with request headers skipped, drop content-length after the headers message; the server still sees it', async () => {
    const u = upstream();
    await exchange({ mode: { requestBodyMode: 'STREAMED' }, request: post('{"a":1}'), upstream: u.fn });
    expect(messages()[0]!.requestHeaders!.headers!.headers.some((h) => h.key === 'content-length')).toBe(true);
    expect(header(u.seen[0]!.headers, 'content-length')).toBeUndefined();
    const skipped = upstream();
    await exchange({
      mode: { requestHeaderMode: 'SKIP', requestBodyMode: 'BUFFERED' },
      request: post('{"a":1}'),
      upstream: skipped.fn,
    });
    expect(phases()).toEqual(['requestBody', 'responseHeaders']);
    expect(header(skipped.seen[0]!.headers, 'content-length')).toBeUndefined();
    const kept = upstream();
    await exchange({ mode: { requestBodyMode: 'BUFFERED' }, request: post('{"a":1}'), upstream: kept.fn });
    expect(header(kept.seen[0]!.headers, 'content-length')).toBe('7');
  });

  it('ProcessorState::handleStreamedBodyResponse: a header mutation in a STREAMED body reply is ignored, the body mutation applies to its chunk', async () => {
    fake.script = on('requestBody', (m) => ({
      requestBody: {
        response: {
          headerMutation: { setHeaders: [set('x-late', '1')] },
          bodyMutation: { body: Buffer.from(m.requestBody!.body.toString().toUpperCase()) },
        },
      },
    }));
    const u = upstream();
    await exchange({
      mode: { requestBodyMode: 'STREAMED' },
      chunkBytes: 4,
      request: post('abcdefghij'),
      upstream: u.fn,
    });
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'requestBody', 'requestBody', 'responseHeaders']);
    expect(u.seen[0]!.body!.toString()).toBe('ABCDEFGHIJ');
    expect(header(u.seen[0]!.headers, 'x-late')).toBeUndefined();
  });
});

describe('Filter::onGrpcClose', () => {
  it('a stream the server closes with status OK: the request goes on, even failing closed, with the mutations already applied', async () => {
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? { requestHeaders: { response: { headerMutation: { setHeaders: [set('x-applied', '1')] } } } }
        : 'close';
    const u = upstream();
    const r = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('{"a":1}'),
      upstream: u.fn,
      failureModeAllow: false,
    });
    expect(r.response.status).toBe(200);
    expect(header(u.seen[0]!.headers, 'x-applied')).toBe('1');
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_STREAM_CLOSED');
    // Processing is complete: no response headers message.
    expect(phases()).toEqual(['requestHeaders', 'requestBody']);
  });
});

describe('Filter::onGrpcError', () => {
  it('status_on_error (500) with an empty body failing closed; the upstream failing open, mutations kept', async () => {
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? { requestHeaders: { response: { headerMutation: { setHeaders: [set('x-applied', '1')] } } } }
        : 'fail';
    const closed = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('{}'),
      upstream: upstream().fn,
    });
    expect(closed.response).toMatchObject({
      status: 500,
      headers: [],
      localReply: { details: expect.stringMatching(/^ext_proc_error_gRPC_error_13/) as unknown },
    });
    const u = upstream();
    const open = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('{}'),
      upstream: u.fn,
      failureModeAllow: true,
    });
    expect(open.response.status).toBe(200);
    expect(header(u.seen[0]!.headers, 'x-applied')).toBe('1');
  });
});

describe('Filter::onMessageTimeout', () => {
  it('504 with an empty body failing closed (not status_on_error); failing open keeps the mutations already applied', async () => {
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? { requestHeaders: { response: { headerMutation: { setHeaders: [set('x-applied', '1')] } } } }
        : 'silent';
    const closed = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('{}'),
      upstream: upstream().fn,
      timeoutMs: 100,
    });
    expect(closed.response).toMatchObject({
      status: 504,
      headers: [],
      localReply: { details: 'ext_proc_error_per-message_timeout_exceeded' },
    });
    await waitFor(() => fake.streams.at(-1)!.cancelled, 'Envoy to close (reset) the stream');
    const u = upstream();
    const open = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('{}'),
      upstream: u.fn,
      timeoutMs: 100,
      failureModeAllow: true,
    });
    expect(open.response.status).toBe(200);
    expect(header(u.seen[0]!.headers, 'x-applied')).toBe('1');
  });
});

describe('Filter::onNewTimeout', () => {
  const extend = (ms: number): ProcessingResponse => ({
    overrideMessageTimeout: { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 },
  });

  it('without max_message_timeout an override_message_timeout is ignored: the message is consumed and the timer runs on', async () => {
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? [extend(5000), { requestHeaders: { response: { headerMutation: { setHeaders: [set('x-ignored', '1')] } } } }]
        : continueAll(m, undefined as never);
    const u = upstream();
    const r = await exchange({ request: get, upstream: u.fn });
    expect(r.response.status).toBe(200);
    expect(r.violations).toEqual([{ header: 'override_message_timeout', reason: '5000 ms outside 1..0 ms: ignored' }]);
    // A reply that carries an override is only a timer extension: its other fields are not read.
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? { ...extend(10), requestHeaders: { response: { headerMutation: { setHeaders: [set('x-ignored', '1')] } } } }
        : continueAll(m, undefined as never);
    const timedOut = await exchange({ request: get, upstream: upstream().fn, timeoutMs: 150 });
    expect(timedOut.response.status).toBe(504);
  });

  it('within max_message_timeout it restarts the timer with the new value, once per message', async () => {
    // The server asks for 5 s, then answers after the original 500 ms have passed.
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? [extend(5000), { waitMs: 1200 }, { requestHeaders: {} }]
        : continueAll(m, undefined as never);
    const r = await exchange({ request: get, upstream: upstream().fn, timeoutMs: 500, maxMessageTimeoutMs: 10_000 });
    expect(r.response.status).toBe(200);
    // A second extension for the same message is ignored: the 600 ms of the first one run out.
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? [extend(600), extend(5000), { waitMs: 2500 }, { requestHeaders: {} }]
        : continueAll(m, undefined as never);
    const twice = await exchange({
      request: get,
      upstream: upstream().fn,
      timeoutMs: 500,
      maxMessageTimeoutMs: 10_000,
    });
    expect(twice.response.status).toBe(504);
  });
});

describe('Filter::onReceiveMessage', () => {
  it('an invalid mutation is a 500 even with failure_mode_allow', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { headerMutation: { setHeaders: [set('x-bad', 'a\r\nb')] } } },
    });
    const u = upstream();
    const r = await exchange({ request: get, upstream: u.fn, failureModeAllow: true });
    expect(r.response.status).toBe(500);
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_INVALID_MUTATION');
    expect(u.seen).toEqual([]);
  });

  it('a mutation refused with disallow_is_error is a 500 even with failure_mode_allow', async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: { response: { headerMutation: { setHeaders: [set('x-envoy-debug', '1')] } } },
    });
    const r = await exchange({
      request: get,
      upstream: upstream().fn,
      failureModeAllow: true,
      mutationRules: { ...defaultMutationRules, disallowIsError: true },
    });
    expect(r.response.status).toBe(500);
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_MUTATION_REJECTED');
  });

  it('a spurious reply (wrong kind, or none set): 500 failing closed; failing open the request goes on without the processor', async () => {
    fake.script = on('requestHeaders', { responseHeaders: {} });
    expect((await exchange({ request: get, upstream: upstream().fn })).response.status).toBe(500);
    fake.script = on('requestHeaders', {});
    expect((await exchange({ request: get, upstream: upstream().fn })).response.status).toBe(500);
    const u = upstream();
    const open = await exchange({ request: get, upstream: u.fn, failureModeAllow: true });
    expect(open.response.status).toBe(200);
    expect(open.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_SPURIOUS_MESSAGE');
    expect(phases()).toEqual(['requestHeaders']); // nothing more is sent
  });

  it('a reply while Envoy waits for none (here: during the upstream call) is spurious too', async () => {
    fake.script = on('requestHeaders', () => [{ requestHeaders: {} }, { waitMs: 50 }, { requestHeaders: {} }] as never);
    const slow = async (req: HttpRequest, r: UpstreamRouting) => {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      return upstream().fn(req, r);
    };
    const r = await exchange({ request: get, upstream: slow });
    expect(r.response.status).toBe(500);
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_SPURIOUS_MESSAGE');
  });

  it('mode_override is ignored without allow_mode_override', async () => {
    fake.script = on('requestHeaders', { requestHeaders: {}, modeOverride: { responseHeaderMode: 'SKIP' } });
    await exchange({ request: get, upstream: upstream().fn });
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders']);
  });

  it("mode_override in the reply to request headers: DEFAULT header and trailer modes come from the filter's own mode, body modes are literal", async () => {
    fake.script = on('requestHeaders', {
      requestHeaders: {},
      modeOverride: { requestBodyMode: 'BUFFERED', responseHeaderMode: 'DEFAULT' },
    });
    const r = await exchange({
      request: post('{"a":1}'),
      upstream: upstream().fn,
      allowModeOverride: true,
      // The route asks for no response headers; the filter's own mode does.
      mode: { responseHeaderMode: 'SKIP', responseBodyMode: 'BUFFERED' },
      filterMode: { responseHeaderMode: 'SEND' },
    });
    expect(r.response.status).toBe(200);
    // request body now BUFFERED; response headers from the filter's mode (SEND); response body NONE (literal).
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'responseHeaders']);
  });

  it('mode_override in the reply to response headers applies; in a body reply it is ignored', async () => {
    fake.script = on('responseHeaders', { responseHeaders: {}, modeOverride: { responseBodyMode: 'NONE' } });
    await exchange({
      request: get,
      upstream: upstream().fn,
      allowModeOverride: true,
      mode: { responseBodyMode: 'BUFFERED' },
    });
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders']);
    fake.script = on('requestBody', { requestBody: {}, modeOverride: { responseHeaderMode: 'SKIP' } });
    await exchange({
      request: post('{}'),
      upstream: upstream().fn,
      allowModeOverride: true,
      mode: { requestBodyMode: 'BUFFERED' },
    });
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'responseHeaders']);
  });
});

describe('Filter::addAttributes', () => {
  it('request attributes go once, on the first request message; missing ones are left out; integers are numbers', async () => {
    await exchange({
      mode: { requestHeaderMode: 'SKIP', requestBodyMode: 'BUFFERED' },
      request: post('{}'),
      upstream: upstream().fn,
      connection: { sourceAddress: '[::1]:5678', sourcePort: 5678, mtls: false },
      requestAttributes: ['source.address', 'source.port', 'connection.mtls', 'xds.route_name', 'request.path'],
    });
    const [body, response] = messages();
    expect(body!.attributes['envoy.filters.http.ext_proc']!.fields).toEqual({
      'source.address': { kind: 'stringValue', stringValue: '[::1]:5678' },
      'source.port': { kind: 'numberValue', numberValue: 5678 },
      'connection.mtls': { kind: 'boolValue', boolValue: false },
      'request.path': { kind: 'stringValue', stringValue: '/p' },
    });
    expect(response!.attributes).toEqual({});
  });

  it("request.id is the request's x-request-id as Envoy left it", async () => {
    await exchange({ request: get, upstream: upstream().fn, requestAttributes: ['request.id'] });
    expect(messages()[0]!.attributes['envoy.filters.http.ext_proc']!.fields['request.id']!.stringValue).toBe('rid');
  });

  it('response attributes go on the first response message', async () => {
    await exchange({ request: get, upstream: upstream({ status: 201 }).fn, responseAttributes: ['response.code'] });
    expect(messages()[0]!.attributes).toEqual({});
    expect(messages()[1]!.attributes['envoy.filters.http.ext_proc']!.fields['response.code']!.numberValue).toBe(201);
  });
});

describe('Filter::sendImmediateResponse', () => {
  const immediate =
    (ir: NonNullable<ProcessingResponse['immediateResponse']>): Script =>
    () => ({ immediateResponse: ir });

  it('a status below 200, or none, becomes 200', async () => {
    for (const code of [100, 0, 199]) {
      fake.script = immediate({ status: { code: code as never } });
      expect((await exchange({ request: get, upstream: upstream().fn })).response.status).toBe(200);
    }
    fake.script = immediate({});
    expect((await exchange({ request: get, upstream: upstream().fn })).response.status).toBe(200);
  });

  it('Utility::prepareLocalReply: a body without content-type gets text/plain and its length; an empty body gets neither, whatever the mutation set', async () => {
    fake.script = immediate({ status: { code: 'Forbidden' }, body: Buffer.from('no') });
    const withBody = await exchange({ request: get, upstream: upstream().fn });
    expect(withBody.response).toMatchObject({
      status: 403,
      headers: [
        ['content-length', '2'],
        ['content-type', 'text/plain'],
      ],
    });
    fake.script = immediate({
      status: { code: 'Forbidden' },
      body: Buffer.from('{}'),
      headers: { setHeaders: [set('content-type', 'application/json')] },
    });
    expect(header((await exchange({ request: get, upstream: upstream().fn })).response.headers, 'content-type')).toBe(
      'application/json',
    );
    fake.script = immediate({
      status: { code: 'NoContent' },
      headers: { setHeaders: [set('content-type', 'application/json'), set('content-length', '5')] },
    });
    expect((await exchange({ request: get, upstream: upstream().fn })).response.headers).toEqual([]);
  });

  it("its headers go through the filter's mutation rules; with disallow_is_error the first refusal stops the rest, the reply still goes", async () => {
    fake.script = immediate({
      status: { code: 'Unauthorized' },
      headers: { setHeaders: [set('x-a', '1'), set('x-envoy-x', '1'), set('x-b', '1')] },
    });
    const ignored = await exchange({ request: get, upstream: upstream().fn });
    expect(ignored.response.headers).toEqual([
      ['x-a', '1'],
      ['x-b', '1'],
    ]);
    const failed = await exchange({
      request: get,
      upstream: upstream().fn,
      mutationRules: { ...defaultMutationRules, disallowIsError: true },
    });
    expect(failed.response).toMatchObject({ status: 401, headers: [['x-a', '1']] });
  });

  it('a gRPC request gets HTTP 200, grpc-status from the HTTP status (or grpc_status), grpc-message from the body, and no body', async () => {
    const grpcRequest: HttpRequest = { ...get, headers: [['content-type', 'application/grpc']] };
    fake.script = immediate({ status: { code: 'Unauthorized' }, body: Buffer.from('no key') });
    const mapped = await exchange({ request: grpcRequest, upstream: upstream().fn });
    expect(mapped.response).toMatchObject({
      status: 200,
      body: Buffer.alloc(0),
      headers: [
        ['content-type', 'application/grpc'],
        ['grpc-status', '16'],
        ['grpc-message', 'no key'],
      ],
    });
    fake.script = immediate({ status: { code: 'Forbidden' }, grpcStatus: { status: 9 } });
    expect(
      header((await exchange({ request: grpcRequest, upstream: upstream().fn })).response.headers, 'grpc-status'),
    ).toBe('9');
  });

  it('a HEAD request gets the headers without the body', async () => {
    fake.script = immediate({ status: { code: 'Forbidden' }, body: Buffer.from('no') });
    const r = await exchange({ request: { ...get, method: 'HEAD' }, upstream: upstream().fn });
    expect(r.response).toMatchObject({
      status: 403,
      body: Buffer.alloc(0),
      headers: [
        ['content-length', '2'],
        ['content-type', 'text/plain'],
      ],
    });
  });

  it('with disable_immediate_response it is a spurious message', async () => {
    fake.script = immediate({ status: { code: 'Forbidden' } });
    const u = upstream();
    const r = await exchange({ request: get, upstream: u.fn, disableImmediateResponse: true, failureModeAllow: true });
    expect(r.response.status).toBe(200);
    expect(r.failureCode).toBe('GH_ERR_DEVPROXY_EXT_PROC_SPURIOUS_MESSAGE');
  });
});

describe('Filter::onTrailers', () => {
  const withTrailers = (request: HttpRequest): HttpRequest => ({ ...request, trailers: [['x-checksum', 'abc']] });

  it('SEND: request trailers are sent after the headers (end_of_stream false) and their mutations applied', async () => {
    fake.script = on('requestTrailers', {
      requestTrailers: { headerMutation: { setHeaders: [set('x-checksum', 'def')], removeHeaders: [] } },
    });
    const u = upstream();
    await exchange({ mode: { requestTrailerMode: 'SEND' }, request: withTrailers(get), upstream: u.fn });
    expect(phases()).toEqual(['requestHeaders', 'requestTrailers', 'responseHeaders']);
    expect(messages()[0]!.requestHeaders!.endOfStream).toBe(false);
    expect(u.seen[0]!.trailers).toEqual([['x-checksum', 'def']]);
  });

  it('BUFFERED: the body goes with end_of_stream false, then the trailers', async () => {
    await exchange({
      mode: { requestBodyMode: 'BUFFERED', requestTrailerMode: 'SEND' },
      request: withTrailers(post('{}')),
      upstream: upstream().fn,
    });
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'requestTrailers', 'responseHeaders']);
    expect(messages()[1]!.requestBody!.endOfStream).toBe(false);
  });

  it('SKIP: trailers pass through untouched, and no trailers message is made up for a request without them', async () => {
    const u = upstream();
    await exchange({ mode: { requestBodyMode: 'BUFFERED' }, request: withTrailers(post('{}')), upstream: u.fn });
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'responseHeaders']);
    expect(messages()[1]!.requestBody!.endOfStream).toBe(false);
    expect(u.seen[0]!.trailers).toEqual([['x-checksum', 'abc']]);
    await exchange({
      mode: { requestTrailerMode: 'SEND', responseTrailerMode: 'SEND' },
      request: get,
      upstream: upstream().fn,
    });
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders']);
  });

  it('response trailers: sent in SEND mode, mutations applied', async () => {
    fake.script = on('responseTrailers', {
      responseTrailers: { headerMutation: { setHeaders: [set('grpc-status', '0')], removeHeaders: [] } },
    });
    const r = await exchange({
      mode: { responseTrailerMode: 'SEND' },
      request: get,
      upstream: upstream({ trailers: [['grpc-status', '2']] }).fn,
    });
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders', 'responseTrailers']);
    expect(r.response.trailers).toEqual([['grpc-status', '0']]);
  });
});

describe('FilterManager buffer limits (requestDataTooLarge, responseDataTooLarge)', () => {
  it('a BUFFERED request body over the limit: 413 Payload Too Large after the headers message; the body is never sent', async () => {
    const u = upstream();
    const r = await exchange({
      mode: { requestBodyMode: 'BUFFERED' },
      request: post('x'.repeat(100)),
      upstream: u.fn,
      bufferLimitBytes: 64,
    });
    expect(r.response).toMatchObject({ status: 413, body: Buffer.from('Payload Too Large') });
    expect(header(r.response.headers, 'content-type')).toBe('text/plain');
    expect(header(r.response.headers, 'connection')).toBe('close');
    expect(u.seen).toEqual([]);
    // The headers message goes out before the body is buffered; the stream is reset right after, so
    // the server may or may not have read it. It never gets the body.
    expect(phases()).not.toContain('requestBody');
  });

  it('a body no filter buffers is not limited', async () => {
    const u = upstream();
    const r = await exchange({ request: post('x'.repeat(100)), upstream: u.fn, bufferLimitBytes: 64 });
    expect(r.response.status).toBe(200);
    expect(u.seen[0]!.body!.length).toBe(100);
  });

  it('a BUFFERED response body over the limit: 500 Internal Server Error', async () => {
    const r = await exchange({
      mode: { responseBodyMode: 'BUFFERED' },
      request: get,
      upstream: upstream({ body: Buffer.alloc(100) }).fn,
      bufferLimitBytes: 64,
    });
    expect(r.response).toMatchObject({ status: 500, body: Buffer.from('Internal Server Error') });
  });
});

describe('Filter::onLocalReply', () => {
  it('a local reply of the router (no route, no healthy upstream) is never sent to the processor', async () => {
    const r = await exchange({
      request: get,
      upstream: () => localReply(503, 'no healthy upstream', 'no_healthy_upstream'),
    });
    expect(r.response.status).toBe(503);
    expect(phases()).toEqual(['requestHeaders']);
  });
});

describe('DecodingProcessorState::clearRouteCache', () => {
  const clearing = (headerMutation: boolean): Script =>
    on('requestHeaders', {
      requestHeaders: { response: { clearRouteCache: true, ...(headerMutation ? { headerMutation: {} } : {}) } },
    });

  it('DEFAULT: the route is chosen again only when the reply has a header mutation and clear_route_cache', async () => {
    for (const [script, want] of [
      [clearing(true), true],
      [clearing(false), false],
      [on('requestHeaders', { requestHeaders: { response: { headerMutation: {} } } }), false],
    ] as const) {
      fake.script = script;
      const u = upstream();
      await exchange({ request: get, upstream: u.fn });
      expect(u.routing[0]!.clearRouteCache).toBe(want);
    }
  });

  it('CLEAR clears on any header mutation, RETAIN never; response replies never', async () => {
    fake.script = on('requestHeaders', { requestHeaders: { response: { headerMutation: {} } } });
    const cleared = upstream();
    await exchange({ request: get, upstream: cleared.fn, routeCacheAction: 'CLEAR' });
    expect(cleared.routing[0]!.clearRouteCache).toBe(true);
    fake.script = clearing(true);
    const retained = upstream();
    await exchange({ request: get, upstream: retained.fn, routeCacheAction: 'RETAIN' });
    expect(retained.routing[0]!.clearRouteCache).toBe(false);
  });
});

describe('ExternalProcessorStreamImpl::close', () => {
  it('Envoy closes the stream with a half-close and a reset: the server sees it cancelled', async () => {
    await exchange({ request: get, upstream: upstream().fn });
    await waitFor(() => fake.streams.at(-1)!.cancelled, 'the server to see the stream cancelled');
  });

  it('a server that ends each call with OK right after the half-close: every exchange completes, past 1,000 streams on one connection', async () => {
    // The fake ends each call on the half-close, so its trailers cross devproxy's reset. 1,500
    // streams, 32 at a time, pass nghttp2's burst of 1,000 incoming resets on the server's connection.
    const failures: string[] = [];
    let left = 1500;
    const loop = async () => {
      while (left-- > 0) {
        const out = await exchange({
          request: post('{"a":1}'),
          upstream: upstream().fn,
          mode: { requestBodyMode: 'BUFFERED' },
        });
        if (out.failure) failures.push(out.failure);
      }
    };
    await Promise.all(Array.from({ length: 32 }, loop));
    expect(failures).toEqual([]);
  });
});

it('mutation rules: disallow_expression and allow_expression reach the driver', async () => {
  fake.script = on('requestHeaders', {
    requestHeaders: { response: { headerMutation: { setHeaders: [set('x-secret', '1'), set('x-envoy-ok', '1')] } } },
  });
  const u = upstream();
  await exchange({
    request: get,
    upstream: u.fn,
    mutationRules: {
      ...defaultMutationRules,
      disallowExpression: RE2JS.compile('x-secret'),
      allowExpression: RE2JS.compile('x-envoy-ok'),
    },
  });
  expect(u.seen[0]!.headers).toEqual([
    ['x-request-id', 'rid'],
    ['x-envoy-ok', '1'],
  ]);
});
