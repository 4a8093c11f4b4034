import { describe, expect, it, vi } from 'vitest';
import type { Proxy } from '../../../protos/gen/gatehouse/v1/Proxy.ts';
import { decodeRuntimeSnapshot } from '../config/decode.ts';
import { compileProxy, ProxyInvalidError, type PolicyRegistry } from './compile.ts';
import { FlowRun } from './engine.ts';
import { PolicyFault } from './faults.ts';
import { createResponseMessage } from './message.ts';
import { makePolicyContext, type PolicyContextOptions } from './policy-context.test-support.ts';
import type { PolicyImplementation } from './types.ts';

/** Test policies: each records its name in `trace`, then does what its config says. */
function registry(trace: string[]): PolicyRegistry {
  const impl = (
    type: string,
    run: (config: Record<string, unknown>, name: string) => PolicyImplementation['create'],
  ): PolicyImplementation<never> => ({
    type,
    create: (config: never, meta) => run(config, meta.name)(config, meta),
  });
  const list = [
    impl('Trace', (_c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
    }),
    impl('Fail', (c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      throw new PolicyFault({
        status: Number(c.status ?? 401),
        errorCode: String((c.code as string | undefined) ?? 'oauth.v2.InvalidApiKey'),
        faultString: 'nope',
        headers: { 'x-why': 'fail' },
      });
    }),
    impl('Raise', (c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      throw new PolicyFault({
        status: 418,
        errorCode: 'custom.Teapot',
        faultString: 'tea',
        body: { contentType: 'text/plain', content: String(c.content) },
      });
    }),
    impl('Crash', (_c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      throw new TypeError('boom');
    }),
    impl('Respond', (_c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      return { respond: { status: 204, headers: { 'x-direct': '1' }, body: '' } };
    }),
    impl('SetHeader', (c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      const target = ctx.phase === 'response' ? ctx.response! : ctx.request;
      target.headers.set(String(c.name), ctx.variables.template(String(c.value)));
    }),
    impl('Async', (c, name) => () => async (ctx) => {
      trace.push(`${ctx.phase}:${name}:start`);
      await new Promise((resolve) => setImmediate(resolve));
      trace.push(`${ctx.phase}:${name}:end`);
      if (c.fail) throw new PolicyFault({ status: 503, errorCode: 'custom.Later', faultString: 'later' });
      if (c.respond) return { respond: { status: 202, headers: {}, body: 'later' } };
      return undefined;
    }),
    impl('Thenable', (_c, name) => () => (ctx) => {
      trace.push(`${ctx.phase}:${name}`);
      // A PromiseLike that is not a native promise: awaited like one.
      return { then: (resolve: (v: undefined) => void) => setImmediate(() => resolve(undefined)) } as never;
    }),
    impl('BadConfig', () => () => {
      throw new Error('bad config');
    }),
  ];
  return new Map(list.map((p) => [p.type, p]));
}

const policy = (type: string, config: Record<string, unknown> = {}, extra: Record<string, unknown> = {}) => ({
  type,
  enabled: true,
  configJson: JSON.stringify(config),
  ...extra,
});

function setup(proxy: Proxy, opts: PolicyContextOptions = {}) {
  const trace: string[] = [];
  const snapshot = decodeRuntimeSnapshot({
    proxies: [{ namespace: 'ns', name: 'p', route: 'ns/p', basePath: '/api', ...proxy }],
  });
  const compiled = compileProxy(snapshot.proxies[0]!, registry(trace));
  const ctx = makePolicyContext({ path: '/api/orders', proxy: { basePath: '/api' }, ...opts });
  const run = new FlowRun(compiled, ctx.exchange);
  const respond = async () => {
    ctx.exchange.response = createResponseMessage({
      status: 200,
      headers: { 'content-type': 'text/plain' },
      body: Buffer.from('ok'),
    });
    return run.runResponse();
  };
  return { trace, run, exchange: ctx.exchange, respond, compiled };
}

const policies = {
  a: policy('Trace'),
  b: policy('Trace'),
  c: policy('Trace'),
  d: policy('Trace'),
  e: policy('Trace'),
  f: policy('Trace'),
  g: policy('Trace'),
  h: policy('Trace'),
  fail: policy('Fail'),
  crash: policy('Crash'),
  respond: policy('Respond'),
};

describe('flow order', () => {
  it('runs preFlow, the first matching conditional flow, postFlow; the same flow in the response; postClientFlow last', async () => {
    const { trace, run, respond } = setup({
      policies,
      flows: {
        preFlow: { request: [{ policy: 'a' }], response: [{ policy: 'e' }] },
        conditionalFlows: [
          {
            name: 'never',
            condition: {
              comparison: { operator: 'EQUALS', left: { variable: 'request.verb' }, right: { string: 'DELETE' } },
            },
            request: [{ policy: 'h' }],
          },
          {
            name: 'orders',
            condition: {
              comparison: {
                operator: 'MATCHES_PATH',
                left: { variable: 'proxy.pathsuffix' },
                right: { string: '/orders' },
              },
            },
            request: [{ policy: 'b' }],
            response: [{ policy: 'f' }],
          },
          { name: 'catch-all', request: [{ policy: 'h' }] },
        ],
        postFlow: { request: [{ policy: 'c' }], response: [{ policy: 'g' }] },
        postClientFlow: { response: [{ policy: 'd' }] },
      },
    });
    expect(await run.runRequest()).toEqual({ action: 'continue' });
    expect(run.matchedFlow).toBe('orders');
    expect(await respond()).toEqual({ action: 'continue' });
    await run.runPostClient();
    expect(trace).toEqual([
      'request:a',
      'request:b',
      'request:c',
      'response:e',
      'response:f',
      'response:g',
      'response:d',
    ]);
  });

  it('chooses the conditional flow after preFlow ran, so preFlow can steer it', async () => {
    const { run } = setup({
      policies: { ...policies, mark: policy('SetHeader', { name: 'x-flow', value: 'two' }) },
      flows: {
        preFlow: { request: [{ policy: 'mark' }] },
        conditionalFlows: [
          {
            name: 'one',
            condition: {
              comparison: { operator: 'EQUALS', left: { variable: 'request.header.x-flow' }, right: { string: 'one' } },
            },
          },
          {
            name: 'two',
            condition: {
              comparison: { operator: 'EQUALS', left: { variable: 'request.header.x-flow' }, right: { string: 'two' } },
            },
          },
        ],
      },
    });
    await run.runRequest();
    expect(run.matchedFlow).toBe('two');
  });

  it('skips steps whose condition is false and disabled policies', async () => {
    const { trace, run } = setup({
      policies: { ...policies, off: policy('Trace', {}, { enabled: false }) },
      flows: {
        preFlow: {
          request: [
            {
              policy: 'a',
              condition: {
                comparison: { operator: 'EQUALS', left: { variable: 'request.verb' }, right: { string: 'POST' } },
              },
            },
            { policy: 'off' },
            {
              policy: 'b',
              condition: {
                comparison: { operator: 'EQUALS', left: { variable: 'request.verb' }, right: { string: 'GET' } },
              },
            },
          ],
        },
      },
    });
    await run.runRequest();
    expect(trace).toEqual(['request:b']);
  });
});

describe('faults', () => {
  it('skips the remaining steps and flows and sends the default fault body', async () => {
    const { trace, run } = setup({
      policies,
      flows: {
        preFlow: { request: [{ policy: 'a' }, { policy: 'fail' }, { policy: 'b' }] },
        postFlow: { request: [{ policy: 'c' }] },
      },
    });
    const out = await run.runRequest();
    expect(trace).toEqual(['request:a', 'request:fail']);
    if (out.action !== 'respond') throw new Error('expected a response');
    expect(out.errorCode).toBe('oauth.v2.InvalidApiKey');
    expect(out.response.status).toBe(401);
    expect(out.response.headers.get('content-type')).toBe('application/json');
    expect(out.response.headers.get('x-why')).toBe('fail');
    expect(JSON.parse(out.response.body.text())).toEqual({
      fault: { faultstring: 'nope', detail: { errorcode: 'oauth.v2.InvalidApiKey' } },
    });
  });

  it('sets fault and error variables', async () => {
    const { run, exchange } = setup({ policies, flows: { preFlow: { request: [{ policy: 'fail' }] } } });
    await run.runRequest();
    const v = exchange.variables;
    expect([
      v.get('fault.name'),
      v.get('fault.policy'),
      v.get('error.code'),
      v.get('error.message'),
      v.get('error.status.code'),
      v.get('error.state'),
    ]).toEqual(['InvalidApiKey', 'fail', 'oauth.v2.InvalidApiKey', 'nope', 401, 'PROXY_REQ_FLOW']);
  });

  it('runs the first matching fault rule only, and the default rule when none matched', async () => {
    const faultIs = (name: string) => ({
      comparison: { operator: 'EQUALS' as const, left: { variable: 'fault.name' }, right: { string: name } },
    });
    const proxy = (always: boolean): Proxy => ({
      policies: { ...policies, fix: policy('SetHeader', { name: 'x-fixed', value: '{fault.name}' }) },
      flows: { preFlow: { request: [{ policy: 'fail' }] } },
      faultRules: [
        { name: 'other', condition: faultIs('QuotaViolation'), steps: [{ policy: 'a' }] },
        { name: 'key', condition: faultIs('InvalidApiKey'), steps: [{ policy: 'fix' }, { policy: 'b' }] },
        { name: 'key-again', condition: faultIs('InvalidApiKey'), steps: [{ policy: 'c' }] },
      ],
      defaultFaultRule: { steps: [{ policy: 'd' }], alwaysEnforce: always },
    });
    const plain = setup(proxy(false));
    const out = await plain.run.runRequest();
    expect(plain.trace).toEqual(['request:fail', 'response:fix', 'response:b']);
    if (out.action !== 'respond') throw new Error('expected a response');
    expect(out.response.headers.get('x-fixed')).toBe('InvalidApiKey');
    expect(out.response.status).toBe(401);

    const enforced = setup(proxy(true));
    await enforced.run.runRequest();
    expect(enforced.trace).toEqual(['request:fail', 'response:fix', 'response:b', 'response:d']);

    const unmatched = setup({ ...proxy(false), faultRules: [] });
    await unmatched.run.runRequest();
    expect(unmatched.trace).toEqual(['request:fail', 'response:d']);
  });

  it('lets a fault rule raise its own fault (RaiseFault) with a custom body', async () => {
    const { run } = setup({
      policies: { ...policies, raise: policy('Raise', { content: 'custom' }) },
      flows: { preFlow: { request: [{ policy: 'fail' }] } },
      faultRules: [{ name: 'all', steps: [{ policy: 'raise' }, { policy: 'a' }] }],
    });
    const out = await run.runRequest();
    if (out.action !== 'respond') throw new Error('expected a response');
    expect([
      out.response.status,
      out.response.headers.get('content-type'),
      out.response.body.text(),
      out.errorCode,
    ]).toEqual([418, 'text/plain', 'custom', 'custom.Teapot']);
  });

  it('steps that complete synchronously answer the phase at once; async ones keep the order and outcomes', async () => {
    const sync = setup({ policies, flows: { preFlow: { request: [{ policy: 'a' }, { policy: 'b' }] } } });
    const outcome = sync.run.request();
    expect(outcome).not.toBeInstanceOf(Promise);
    expect(outcome).toEqual({ action: 'continue' });
    expect(sync.trace).toEqual(['request:a', 'request:b']);

    const mixed = setup({
      policies: {
        ...policies,
        slow: policy('Async'),
        soft: policy('Async', { fail: true }, { continueOnError: true }),
        odd: policy('Thenable'),
      },
      flows: {
        preFlow: { request: [{ policy: 'a' }, { policy: 'slow' }, { policy: 'b' }, { policy: 'soft' }] },
        postFlow: { request: [{ policy: 'odd' }, { policy: 'c' }] },
      },
    });
    const pending = mixed.run.request();
    expect(pending).toBeInstanceOf(Promise);
    expect(mixed.trace).toEqual(['request:a', 'request:slow:start']);
    expect(await pending).toEqual({ action: 'continue' });
    expect(mixed.trace).toEqual([
      'request:a',
      'request:slow:start',
      'request:slow:end',
      'request:b',
      'request:soft:start',
      'request:soft:end',
      'request:odd',
      'request:c',
    ]);
    expect(mixed.exchange.variables.get('error.code')).toBe('custom.Later');
  });

  it('an async step that fails or answers ends the phase as a synchronous one would', async () => {
    const failing = setup({
      policies: { ...policies, late: policy('Async', { fail: true }) },
      flows: { preFlow: { request: [{ policy: 'late' }, { policy: 'a' }] }, postFlow: { request: [{ policy: 'b' }] } },
    });
    const failed = await failing.run.runRequest();
    expect(failed).toMatchObject({ action: 'respond', errorCode: 'custom.Later' });
    expect(failing.trace).toEqual(['request:late:start', 'request:late:end']);
    const answering = setup({
      policies: { ...policies, late: policy('Async', { respond: true }) },
      flows: { preFlow: { request: [{ policy: 'late' }, { policy: 'a' }] } },
    });
    const answered = await answering.run.runRequest();
    expect(answered.action === 'respond' && answered.response.status).toBe(202);
    expect(answering.trace).toEqual(['request:late:start', 'request:late:end']);
  });

  it('continueOnError records the error and goes on', async () => {
    const { trace, run, exchange } = setup({
      policies: { ...policies, soft: policy('Fail', {}, { continueOnError: true }) },
      flows: { preFlow: { request: [{ policy: 'soft' }, { policy: 'a' }] } },
    });
    expect(await run.runRequest()).toEqual({ action: 'continue' });
    expect(trace).toEqual(['request:soft', 'request:a']);
    expect(exchange.variables.get('fault.name')).toBe('InvalidApiKey');
  });

  it('a change Envoy would not apply is refused at the step: counted, logged with the policy and header, a 500 gatehouse.RefusedChange; under continueOnError the flow goes on without it', async () => {
    const setEnvoy = policy('SetHeader', { name: 'x-envoy-retry-on', value: '5xx' });
    const hard = setup({
      policies: { ...policies, bad: setEnvoy },
      flows: { preFlow: { request: [{ policy: 'bad' }] } },
    });
    const counted = vi.spyOn(hard.exchange, 'refusedChange');
    const warned = vi.spyOn(hard.exchange.log, 'warn');
    const out = await hard.run.runRequest();
    if (out.action !== 'respond') throw new Error('expected a response');
    expect([out.response.status, out.errorCode]).toEqual([500, 'gatehouse.RefusedChange']);
    expect(counted).toHaveBeenCalledWith('SetHeader');
    expect(warned).toHaveBeenCalledWith(
      expect.objectContaining({ policy: 'bad', header: 'x-envoy-retry-on' }),
      'policy change refused: Envoy would not apply it',
    );
    const soft = setup({
      policies: { ...policies, bad: { ...setEnvoy, continueOnError: true } },
      flows: { preFlow: { request: [{ policy: 'bad' }, { policy: 'a' }] } },
    });
    const softCounted = vi.spyOn(soft.exchange, 'refusedChange');
    expect(await soft.run.runRequest()).toEqual({ action: 'continue' });
    expect(soft.trace).toEqual(['request:bad', 'request:a']);
    expect(soft.exchange.request.headers.has('x-envoy-retry-on')).toBe(false);
    expect(softCounted).toHaveBeenCalledTimes(1);
  });

  it('turns a step that throws a plain error into a 500 gatehouse.InternalError without details', async () => {
    const { run } = setup({ policies, flows: { preFlow: { request: [{ policy: 'crash' }] } } });
    const out = await run.runRequest();
    if (out.action !== 'respond') throw new Error('expected a response');
    expect(out.response.status).toBe(500);
    expect(out.response.body.text()).not.toContain('boom');
    expect(out.errorCode).toBe('gatehouse.InternalError');
  });

  it('answers a fault in the response phase with a fault response', async () => {
    const { run, respond } = setup({ policies, flows: { postFlow: { response: [{ policy: 'fail' }] } } });
    await run.runRequest();
    const out = await respond();
    if (out.action !== 'respond') throw new Error('expected a response');
    expect(out.response.status).toBe(401);
  });

  it('postClientFlow faults change nothing', async () => {
    const { run, trace } = setup({
      policies,
      flows: { postClientFlow: { response: [{ policy: 'fail' }, { policy: 'a' }] } },
    });
    await run.runRequest();
    await run.runPostClient();
    expect(trace).toEqual(['response:fail']);
  });
});

describe('direct responses', () => {
  it('a step that answers stops the flow and sends its answer', async () => {
    const { trace, run } = setup({
      policies,
      flows: { preFlow: { request: [{ policy: 'respond' }, { policy: 'a' }] } },
    });
    const out = await run.runRequest();
    expect(trace).toEqual(['request:respond']);
    if (out.action !== 'respond') throw new Error('expected a response');
    expect([out.response.status, out.response.headers.get('x-direct'), out.errorCode]).toEqual([204, '1', undefined]);
  });
});

describe('compileProxy', () => {
  const reg = registry([]);
  const compile = (proxy: Proxy) => compileProxy(decodeRuntimeSnapshot({ proxies: [proxy] }).proxies[0]!, reg);

  it('rejects unknown types, failing create() and steps naming unknown policies', () => {
    expect(() => compile({ name: 'p', policies: { x: policy('Nope') } })).toThrow(/type "Nope" is not supported/);
    expect(() => compile({ name: 'p', policies: { x: policy('BadConfig') } })).toThrow(ProxyInvalidError);
    expect(() => compile({ name: 'p', policies: {}, flows: { preFlow: { request: [{ policy: 'ghost' }] } } })).toThrow(
      /flows.preFlow.request\[0\]: policy "ghost"/,
    );
    expect(() => compile({ name: 'p', policies: { x: { type: 'Trace', configJson: '{' } } })).toThrow(
      /configJson is not JSON/,
    );
  });
});
