// ExternalCallout's MessageContext mapping (what is sent, how the reply applies) and its faults, with
// a fake server behind ctx.callouts; the real gRPC path against a Python server is in
// external-callout.int.test.ts.
import { describe, expect, it } from 'vitest';
import type { MessageContext, MessageContext__Output } from '../../../../protos/gen/apigee/MessageContext.ts';
import type { Proxy } from '../../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../../config/decode.ts';
import { compileProxy } from '../../flow/compile.ts';
import { FlowRun } from '../../flow/engine.ts';
import { CalloutCallError, CalloutTlsError, PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { CalloutTarget, ExternalCallouts } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { policyRegistry } from '../registry.ts';
import { externalCalloutPolicy } from './external-callout.ts';
import { fromFlowVariable, toFlowVariable } from './external-callout-message.ts';

const meta = { namespace: 'shop', name: 'EC-1' };

/** What the proto-loader decoder gives for an empty reply (defaults: true). */
function emptyReply(): MessageContext__Output {
  return {
    request: null,
    response: null,
    error: null,
    fault: null,
    apiProxy: null,
    client: null,
    currentFlow: null,
    messageId: '',
    organizationName: '',
    environmentName: '',
    proxy: null,
    route: null,
    target: null,
    additionalFlowVariables: {},
  };
}

const reqOut = (r: Partial<NonNullable<MessageContext__Output['request']>>) => ({
  uri: '',
  verb: '',
  httpVersion: '',
  headers: {},
  formParams: {},
  queryParams: {},
  content: '',
  ...r,
});

/** A server that records what it was sent and answers with `answer(sent)`. */
function fakeServer(answer: (sent: MessageContext) => MessageContext__Output | Promise<MessageContext__Output>) {
  const calls: { target: CalloutTarget; sent: MessageContext; timeoutMs: number }[] = [];
  const callouts: ExternalCallouts = {
    call: async (target, sent, timeoutMs) => {
      calls.push({ target, sent, timeoutMs });
      return answer(sent);
    },
  };
  return { calls, callouts };
}

const base = { timeoutMs: 500, grpcConnection: { server: 'callout.shop.svc:50051' } };

async function run(config: unknown, server: ExternalCallouts, opts: PolicyContextOptions = {}) {
  const ctx = makePolicyContext({ callouts: server, ...opts });
  const step = externalCalloutPolicy.create(config as never, meta);
  await step(ctx);
  return ctx;
}

describe('ExternalCallout: what is sent', () => {
  it('sends the request with headers, content, query and form parameters as configured, and the flow variables under each prefix', async () => {
    const { calls, callouts } = fakeServer(() => emptyReply());
    await run(
      {
        ...base,
        configurations: {
          withRequestHeaders: true,
          withRequestContent: true,
          flowVariables: ['app.tier', 'count'],
        },
      },
      callouts,
      {
        method: 'POST',
        path: '/orders?a=1&a=2&b=x',
        headers: { 'x-one': ['1', '2'] },
        body: 'k=v&k=w',
        contentType: 'application/x-www-form-urlencoded',
        variables: { 'app.tier': 'gold', 'app.tier.limit': 7, 'app.tiers': 'no', count: 2 ** 40, other: 'no' },
      },
    );
    const sent = calls[0]!.sent;
    expect(calls[0]!.timeoutMs).toBe(500);
    expect(calls[0]!.target).toEqual({ address: 'callout.shop.svc:50051' });
    expect(sent.request).toMatchObject({
      uri: '/orders?a=1&a=2&b=x',
      verb: 'POST',
      content: 'k=v&k=w',
      queryParams: { a: { strings: ['1', '2'] }, b: { strings: ['x'] } },
      formParams: { k: { strings: ['v', 'w'] } },
    });
    expect(sent.request!.headers!['x-one']).toEqual({ strings: ['1', '2'] });
    expect(sent.additionalFlowVariables).toEqual({
      'app.tier': { string: 'gold' },
      'app.tier.limit': { int32: 7 },
      count: { int64: String(2 ** 40) },
    });
    expect(sent).toMatchObject({
      messageId: 'test-message-id',
      environmentName: 'test',
      organizationName: 'default',
      apiProxy: { name: 'test' },
      client: { ip: '127.0.0.1' },
    });
    expect(sent.response).toBeUndefined();
  });

  it('sends neither headers nor content by default (Apigee: every Property defaults to false)', async () => {
    const { calls, callouts } = fakeServer(() => emptyReply());
    await run(base, callouts, { method: 'POST', headers: { authorization: 'Bearer t' }, body: 'secret body' });
    expect(calls[0]!.sent.request!.headers).toBeUndefined();
    expect(calls[0]!.sent.request!.content).toBeUndefined();
  });

  it('in the response phase sends the response (status, reason, headers, content), not the request', async () => {
    const { calls, callouts } = fakeServer(() => emptyReply());
    await run({ ...base, configurations: { withResponseHeaders: true, withResponseContent: true } }, callouts, {
      response: { status: 404, headers: { 'x-up': 'u' }, body: 'nope' },
    });
    const sent = calls[0]!.sent;
    expect(sent.request).toBeUndefined();
    expect(sent.response).toMatchObject({ statusCode: 404, content: 'nope', headers: { 'x-up': { strings: ['u'] } } });
  });

  it('maps flow variable values to the contract types and back', () => {
    expect([true, 5, -(2 ** 31), 2 ** 31, 1.5, 'x', { a: 1 }, undefined].map(toFlowVariable)).toEqual([
      { bool: true },
      { int32: 5 },
      { int32: -(2 ** 31) },
      { int64: String(2 ** 31) },
      { double: 1.5 },
      { string: 'x' },
      { string: '{"a":1}' },
      undefined,
    ]);
    expect(fromFlowVariable({ value: 'int64', int64: '9007199254740993' })).toBe(9007199254740993n);
    expect(fromFlowVariable({ value: 'int64', int64: '12' })).toBe(12);
    expect(fromFlowVariable({})).toBeUndefined();
  });
});

describe('ExternalCallout: the reply applied', () => {
  it('replaces, adds and removes headers; replaces query parameters; replaces the content', async () => {
    const { callouts } = fakeServer(() => ({
      ...emptyReply(),
      request: reqOut({
        headers: { 'x-one': { strings: ['9'] }, 'x-new': { strings: ['a', 'b'] }, 'x-gone': { strings: [] } },
        queryParams: { a: { strings: ['3'] }, c: { strings: [] } },
        content: '{"changed":true}',
      }),
    }));
    const ctx = await run({ ...base, configurations: { withRequestContent: true } }, callouts, {
      method: 'POST',
      path: '/p?a=1&c=2&d=4',
      headers: { 'x-one': '1', 'x-gone': 'g', 'x-kept': 'k' },
      body: '{"changed":false}',
      contentType: 'application/json',
    });
    expect(ctx.request.headers.getAll('x-one')).toEqual(['9']);
    expect(ctx.request.headers.getAll('x-new')).toEqual(['a', 'b']);
    expect(ctx.request.headers.has('x-gone')).toBe(false);
    expect(ctx.request.headers.get('x-kept')).toBe('k');
    expect(ctx.request.query).toBe('d=4&a=3'); // a replaced name moves to the end
    expect(ctx.request.body.text()).toBe('{"changed":true}');
  });

  it('an echo of the whole request changes nothing (Host and Content-Length are not rewritten)', async () => {
    const { callouts } = fakeServer((sent) => ({
      ...emptyReply(),
      request: reqOut({
        headers: sent.request!.headers as never,
        queryParams: sent.request!.queryParams as never,
        content: sent.request!.content!,
      }),
    }));
    const ctx = await run(
      { ...base, configurations: { withRequestHeaders: true, withRequestContent: true } },
      callouts,
      {
        method: 'POST',
        path: '/p?z=1',
        headers: { host: 'gateway.test', 'content-length': '2' },
        body: 'hi',
      },
    );
    expect(ctx.request.body.changed).toBe(false);
    expect(ctx.request.query).toBe('z=1');
    expect(ctx.request.headers.get('host')).toBe('gateway.test');
  });

  it('empty content removes the body only when the content was sent; unsent content is never touched', async () => {
    const { callouts } = fakeServer(() => ({ ...emptyReply(), request: reqOut({ content: '' }) }));
    const sentCtx = await run({ ...base, configurations: { withRequestContent: true } }, callouts, {
      method: 'POST',
      body: 'payload',
    });
    expect(sentCtx.request.body.text()).toBe('');
    const unsentCtx = await run(base, callouts, { method: 'POST', body: 'payload' });
    expect(unsentCtx.request.body.text()).toBe('payload');
  });

  it('replaces form parameters in a form body that was sent', async () => {
    const { callouts } = fakeServer((sent) => ({
      ...emptyReply(),
      request: reqOut({ content: sent.request!.content!, formParams: { k: { strings: ['z'] } } }),
    }));
    const ctx = await run({ ...base, configurations: { withRequestContent: true } }, callouts, {
      method: 'POST',
      body: 'k=v&j=1',
      contentType: 'application/x-www-form-urlencoded',
    });
    expect(ctx.request.body.text()).toBe('j=1&k=z');
  });

  it('sets additional flow variables with their types, and a valueless one removes it and those below it', async () => {
    const { callouts } = fakeServer(() => ({
      ...emptyReply(),
      additionalFlowVariables: {
        'callout.user': { value: 'string', string: 'ann' },
        'callout.n': { value: 'int32', int32: 3 },
        'callout.ok': { value: 'bool', bool: true },
        old: {},
      },
    }));
    const ctx = await run(base, callouts, { variables: { old: 'x', 'old.child': 'y', older: 'kept' } });
    const v = ctx.variables;
    expect([v.get('callout.user'), v.get('callout.n'), v.get('callout.ok')]).toEqual(['ann', 3, true]);
    expect([v.get('old'), v.get('old.child'), v.get('older')]).toEqual([undefined, undefined, 'kept']);
  });

  it('read-only fields changed by the server are ignored', async () => {
    const { callouts } = fakeServer(() => ({
      ...emptyReply(),
      messageId: 'forged',
      request: reqOut({ verb: 'DELETE', uri: '/admin' }),
      response: { statusCode: 200, reasonPhrase: '', headers: {}, content: 'not for the request phase' },
    }));
    const ctx = await run(base, callouts, { method: 'GET', path: '/p' });
    expect([ctx.request.method, ctx.request.path, ctx.variables.get('messageid')]).toEqual([
      'GET',
      '/p',
      'test-message-id',
    ]);
  });
});

describe('ExternalCallout: faults', () => {
  const faultOf = async (config: unknown, server: ExternalCallouts, opts: PolicyContextOptions = {}) => {
    try {
      await run(config, server, opts);
    } catch (err) {
      if (err instanceof PolicyFault) return err;
      throw err;
    }
    throw new Error('expected a fault');
  };

  it('a fault in the reply raises steps.externalcallout.{name} with its fault string, after applying the variables', async () => {
    const { callouts } = fakeServer(() => ({
      ...emptyReply(),
      fault: { name: 'Forbidden', faultString: 'no entry', type: '', category: '' },
      additionalFlowVariables: { why: { value: 'string', string: 'marker' } },
    }));
    const ctx = makePolicyContext({ callouts });
    const step = externalCalloutPolicy.create(base, meta);
    const fault = await Promise.resolve(step(ctx)).then(
      () => undefined,
      (err: unknown) => err as PolicyFault,
    );
    expect([fault?.status, fault?.errorCode, fault?.message, fault?.overridesContinueOnError]).toEqual([
      500,
      'steps.externalcallout.Forbidden',
      'no entry',
      true,
    ]);
    expect(ctx.variables.get('why')).toBe('marker');
  });

  it('a failed call is ExecutionError naming the gRPC status; bad TLS material is GrpcTlsInitFailed', async () => {
    const failing = (failure: Error): ExternalCallouts => ({ call: () => Promise.reject(failure) });
    const deadline = await faultOf(base, failing(new CalloutCallError('DEADLINE_EXCEEDED: Deadline exceeded')));
    expect([deadline.status, deadline.errorCode]).toEqual([500, 'steps.externalcallout.ExecutionError']);
    expect(deadline.message).toBe(
      'ExternalCallout[EC-1]: Encountered the following exception while sending the gRPC request or processing the response: [DEADLINE_EXCEEDED: Deadline exceeded]',
    );
    const tls = await faultOf(base, failing(new CalloutTlsError('bad PEM')));
    expect(tls.errorCode).toBe('steps.externalcallout.GrpcTlsInitFailed');
  });

  it('a hostile reply (too many variables, a bad fault name) changes nothing and is ExecutionError', async () => {
    const many = Object.fromEntries(Array.from({ length: 1001 }, (_, i) => [`v${i}`, { value: 'bool', bool: true }]));
    const tooMany = fakeServer(() => ({
      ...emptyReply(),
      request: reqOut({ headers: { 'x-set': { strings: ['1'] } } }),
      additionalFlowVariables: many as never,
    }));
    const ctx = makePolicyContext({ callouts: tooMany.callouts });
    await expect(Promise.resolve(externalCalloutPolicy.create(base as never, meta)(ctx))).rejects.toMatchObject({
      errorCode: 'steps.externalcallout.ExecutionError',
    });
    expect([ctx.request.headers.has('x-set'), ctx.variables.get('v1')]).toEqual([false, undefined]);
    const badName = fakeServer(() => ({
      ...emptyReply(),
      fault: { name: 'x"}}<script>', faultString: '', type: '', category: '' },
    }));
    expect((await faultOf(base, badName.callouts)).errorCode).toBe('steps.externalcallout.ExecutionError');
  });

  it('TLS material comes from the snapshot policy secrets; a missing one is GrpcTlsInitFailed', async () => {
    const { calls, callouts } = fakeServer(() => emptyReply());
    const tlsConfig = {
      ...base,
      grpcConnection: {
        server: 'callout.shop.svc:443',
        tls: {
          caCertificate: 'CA PEM',
          clientCertificate: { secretRef: { name: 'ec', key: 'tls.crt' } },
          clientKey: { secretRef: { name: 'ec', key: 'tls.key' } },
          serverName: 'callout.internal',
        },
      },
    };
    await run(tlsConfig, callouts, {
      snapshot: { policySecrets: { 'shop/ec/tls.crt': 'CERT PEM', 'shop/ec/tls.key': 'KEY PEM' } },
    });
    expect(calls[0]!.target).toEqual({
      address: 'callout.shop.svc:443',
      tls: { ca: 'CA PEM', cert: 'CERT PEM', key: 'KEY PEM', serverName: 'callout.internal' },
    });
    const missing = await faultOf(tlsConfig, callouts);
    expect(missing.errorCode).toBe('steps.externalcallout.GrpcTlsInitFailed');
    expect(missing.message).not.toContain('PEM');
  });

  it('refuses configs it cannot run: no host:port, a metadata address, a literal key, a {ref} as TLS material', () => {
    const bad = [
      { ...base, grpcConnection: { server: 'no-port' } },
      { ...base, grpcConnection: { server: '169.254.169.254:80' } },
      {
        ...base,
        grpcConnection: { server: 'a:1', tls: { clientCertificate: 'c', clientKey: '-----BEGIN PRIVATE KEY-----' } },
      },
      { ...base, grpcConnection: { server: 'a:1', tls: { caCertificate: { ref: 'x' } } } },
      { ...base, grpcConnection: { server: 'a:1', tls: { clientCertificate: 'c' } } },
    ];
    for (const config of bad)
      expect(() => externalCalloutPolicy.create(config as never, meta)).toThrow(PolicyConfigError);
  });
});

describe('ExternalCallout in the flow engine', () => {
  const policy = (type: string, config: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    type,
    enabled: true,
    configJson: JSON.stringify(config),
    ...extra,
  });

  async function flow(reply: MessageContext__Output, continueOnError: boolean) {
    const { callouts } = fakeServer(() => reply);
    const snapshot = decodeRuntimeSnapshot({
      proxies: [
        {
          namespace: 'ns',
          name: 'p',
          route: 'ns/p',
          basePath: '/',
          policies: {
            'EC-1': policy('ExternalCallout', base, { continueOnError }),
            after: policy('AssignMessage', { set: { headers: { 'x-after': 'ran' } } }),
          },
          flows: { preFlow: { request: [{ policy: 'EC-1' }, { policy: 'after' }] } },
        } satisfies Proxy,
      ],
    });
    const compiled = compileProxy(snapshot.proxies[0]!, policyRegistry);
    const ctx = makePolicyContext({ callouts });
    const outcome = await new FlowRun(compiled, ctx.exchange).runRequest();
    return { outcome, ctx };
  }

  it("a server's fault enters the error flow even with continueOnError, with fault.name and externalcallout.{name}.failed", async () => {
    const { outcome, ctx } = await flow(
      { ...emptyReply(), fault: { name: 'Denied', faultString: 'by policy', type: '', category: '' } },
      true,
    );
    expect(outcome.action).toBe('respond');
    if (outcome.action !== 'respond') return;
    const body = JSON.parse(outcome.response.body.text()) as {
      fault: { faultstring: string; detail: { errorcode: string } };
    };
    expect([outcome.response.status, body.fault.detail.errorcode, body.fault.faultstring]).toEqual([
      500,
      'steps.externalcallout.Denied',
      'by policy',
    ]);
    expect([ctx.variables.get('fault.name'), ctx.variables.get('externalcallout.EC-1.failed')]).toEqual([
      'Denied',
      true,
    ]);
    expect(ctx.request.headers.has('x-after')).toBe(false);
  });

  it('a failed call under continueOnError lets the flow go on', async () => {
    const callouts: ExternalCallouts = { call: () => Promise.reject(new CalloutCallError('UNAVAILABLE: down')) };
    const snapshot = decodeRuntimeSnapshot({
      proxies: [
        {
          namespace: 'ns',
          name: 'p',
          route: 'ns/p',
          basePath: '/',
          policies: {
            'EC-1': policy('ExternalCallout', base, { continueOnError: true }),
            after: policy('AssignMessage', { set: { headers: { 'x-after': 'ran' } } }),
          },
          flows: { preFlow: { request: [{ policy: 'EC-1' }, { policy: 'after' }] } },
        },
      ],
    });
    const ctx = makePolicyContext({ callouts });
    const outcome = await new FlowRun(compileProxy(snapshot.proxies[0]!, policyRegistry), ctx.exchange).runRequest();
    expect(outcome.action).toBe('continue');
    expect(ctx.request.headers.get('x-after')).toBe('ran');
    expect(ctx.variables.get('externalcallout.EC-1.failed')).toBe(true);
  });
});
