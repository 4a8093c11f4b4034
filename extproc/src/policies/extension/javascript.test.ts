// The JavaScript policy (docs/policies.md#javascript): Apigee's object model as its reference documents
// it, faults, and what a hostile script tries (escapes, pollution, loops, bombs, leftovers), inline and
// on a real worker thread through the cross-thread bridge.
import { afterAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { javaScript, type JavaScriptConfig } from '../../../../protos/policies/extension/javascript.ts';
import { decodeRuntimeSnapshot } from '../../config/decode.ts';
import { RefusedChangeError } from '../../flow/allowed-changes.ts';
import { compileProxy } from '../../flow/compile.ts';
import { FlowRun } from '../../flow/engine.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { PolicyContext } from '../../flow/types.ts';
import { StreamOffload } from '../../workers/offload.ts';
import { WorkerPool } from '../../workers/pool.ts';
import { policyRegistry } from '../registry.ts';
import { javaScriptPolicy } from './javascript.ts';
import { MAX_PRINT_CHARS } from './js/sandbox.ts';

const meta = { namespace: 'shop', name: 'JS-1' };

async function run(
  source: string,
  opts: PolicyContextOptions = {},
  config: Partial<JavaScriptConfig> = {},
  offload?: (ctx: PolicyContext) => PolicyContext,
) {
  const step = javaScriptPolicy.create({ source, resourceURL: 'jsc://script.js', ...config }, meta);
  const base = makePolicyContext({ method: 'POST', path: '/orders?city=Paris&x=1', ...opts });
  const ctx = offload ? offload(base) : base;
  try {
    await step(ctx);
    return { ctx: base, fault: undefined };
  } catch (error) {
    if (!(error instanceof PolicyFault)) throw error;
    return { ctx: base, fault: error };
  }
}

describe('JavaScript: the object model', () => {
  it('context.getVariable/setVariable/removeVariable go through the flow variables, live', async () => {
    const { ctx, fault } = await run(
      `var user = context.getVariable('request.header.x-user');
       context.setVariable('USER.name', user + '!');
       context.setVariable('n', 42); context.setVariable('b', true);
       context.setVariable('gone', 'x'); context.removeVariable('gone');
       context.setVariable('seen', String(context.getVariable('flow.set') + '|' + context.getVariable('missing')));
       context.setVariable('request.header.x-added', 'yes');
       context.removeVariable('request.header.x-drop');`,
      { headers: { 'x-user': 'ann', 'x-drop': '1' }, variables: { 'flow.set': 'before' } },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('USER.name')).toBe('ann!');
    expect([ctx.variables.get('n'), ctx.variables.get('b'), ctx.variables.get('gone')]).toEqual([42, true, undefined]);
    expect(ctx.variables.get('seen')).toBe('before|null');
    expect(ctx.request.headers.get('x-added')).toBe('yes');
    expect(ctx.request.headers.has('x-drop')).toBe(false);
  });

  it('request: headers, queryParams, method, url, content, body.asJSON, with setters', async () => {
    const { ctx, fault } = await run(
      `var order = request.body.asJSON;
       context.setVariable('seen', [request.method, request.url, request.headers['X-Trace'], request.queryParams.city,
         Object.keys(request.queryParams).join('+'), order.id, context.proxyRequest.headers['x-trace'] === request.headers['x-trace']].join(' '));
       request.headers['x-from-js'] = 'v1';
       delete request.headers['x-trace'];
       request.queryParams.city = 'Lyon';
       delete request.queryParams.x;
       request.content = JSON.stringify({ id: order.id, total: 3 });
       request.method = 'PUT';`,
      { headers: { 'x-trace': 't-1' }, body: { id: 'A-7' } },
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('seen')).toBe('POST http://gateway.test/orders?city=Paris&x=1 t-1 Paris city+x A-7 true');
    expect(ctx.request.headers.get('x-from-js')).toBe('v1');
    expect(ctx.request.headers.has('x-trace')).toBe(false);
    expect(ctx.request.query).toBe('city=Lyon');
    expect(ctx.request.body.json()).toEqual({ id: 'A-7', total: 3 });
    expect(ctx.request.method).toBe('PUT');
  });

  it('response in the response flow: status, headers and content; context.flow names the flow', async () => {
    const { ctx, fault } = await run(
      `response.headers['x-flow'] = context.flow + ',' + context.targetResponse.status;
       var body = JSON.parse(response.content); body.wrapped = true;
       response.content = JSON.stringify(body);
       response.status = 201;`,
      { response: { status: 200, body: { ok: 1 } } },
    );
    expect(fault).toBeUndefined();
    expect(ctx.response?.headers.get('x-flow')).toBe('PROXY_RESP_FLOW,200');
    expect(ctx.response?.body.json()).toEqual({ ok: 1, wrapped: true });
    expect(ctx.response?.status).toBe(201);
  });

  it('crypto hashes as Apigee documents (update, digest hex, digest64 base64); properties; print to a variable', async () => {
    const { ctx, fault } = await run(
      `var h = crypto.getSHA256(); h.update('abc'); h.update(properties.salt);
       var m = crypto.getMD5(); m.update('abc');
       var s = crypto.getHash('SHA-512'); s.update('abc');
       context.setVariable('sha256', h.digest()); context.setVariable('md5', m.digest64());
       context.setVariable('sha512', s.digest()); context.setVariable('sha1', (function(){ var x = crypto.getSHA1(); x.update('abc'); return x.digest(); })());
       print('hello', properties.salt, {a: 1});`,
      {},
      { properties: { salt: 'pepper' } },
    );
    expect(fault).toBeUndefined();
    const hash = (alg: string, text: string, enc: 'hex' | 'base64' = 'hex') => createHash(alg).update(text).digest(enc);
    expect(ctx.variables.get('sha256')).toBe(hash('sha256', 'abcpepper'));
    expect(ctx.variables.get('md5')).toBe(hash('md5', 'abc', 'base64'));
    expect(ctx.variables.get('sha512')).toBe(hash('sha512', 'abc'));
    expect(ctx.variables.get('sha1')).toBe(hash('sha1', 'abc'));
    expect(ctx.variables.get('javascript.JS-1.print')).toBe('hello pepper {"a":1}');
  });

  it('IncludeURL scripts run first, in the same scope; context.session passes values between policies of one exchange', async () => {
    const includes = [{ url: 'jsc://lib.js', source: 'function greet(n) { return "hi " + n; }' }];
    const step1 = javaScriptPolicy.create({ source: "context.session['who'] = {name: greet('bo')};", includes }, meta);
    const step2 = javaScriptPolicy.create({ source: "context.setVariable('who', context.session['who'].name);" }, meta);
    const ctx = makePolicyContext();
    await step1(ctx);
    await step2(ctx);
    expect(ctx.variables.get('who')).toBe('hi bo');
    const other = makePolicyContext();
    await expect(step2(other)).rejects.toThrow(/cannot read property 'name' of undefined/);
  });
});

describe('JavaScript: faults', () => {
  it('a runtime error is steps.javascript.ScriptExecutionFailed (500) naming the script and line', async () => {
    const { fault } = await run('var a = 1;\nnull.foo;');
    expect(fault?.status).toBe(500);
    expect(fault?.errorCode).toBe('steps.javascript.ScriptExecutionFailed');
    expect(fault?.message).toBe(
      `Execution of JS-1 failed with error: Javascript runtime error: "TypeError: cannot read property 'foo' of null (script.js:2)"`,
    );
  });

  it('a thrown value and a ReferenceError fail the same way', async () => {
    expect((await run("throw new Error('custom')")).fault?.message).toMatch(/"Error: custom \(script\.js:1\)"/);
    expect((await run('undefinedThing()')).fault?.errorCode).toBe('steps.javascript.ScriptExecutionFailed');
  });

  it('a header change Envoy would not apply fails the step with gatehouse.RefusedChange even when the script catches it', async () => {
    const step = javaScriptPolicy.create(
      { source: "try { request.headers[':authority'] = 'evil' } catch (e) {}" },
      meta,
    );
    await expect(step(makePolicyContext())).rejects.toBeInstanceOf(RefusedChangeError);
  });

  it('the config is checked: a script that does not parse, a duplicate include', () => {
    const problems = javaScript.validate!({
      source: 'var = ;',
      includes: [
        { url: 'jsc://a.js', source: 'ok()' },
        { url: 'jsc://a.js', source: 'function (' },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual(['includes[1].source', 'source', 'includes[1].url']);
    expect(problems[1]!.message).toMatch(/^the script does not parse: Unexpected token '='/);
    expect(() => javaScriptPolicy.create({ source: 'if (' }, meta)).toThrow(
      /javaScript\.source: the script does not parse/,
    );
  });
});

describe('JavaScript: hostile scripts', () => {
  it('constructor.constructor reaches only the sandbox: no process, require, globalThis of the host', async () => {
    const { fault } = await run("constructor.constructor('return process')().exit(1)");
    expect(fault?.message).toMatch(/ReferenceError: 'process' is not defined/);
    const probe = await run(
      `context.setVariable('kinds', [typeof require, typeof process, typeof setTimeout, typeof setInterval, typeof fetch,
         typeof XMLHttpRequest, typeof __gh, typeof std, typeof os, typeof Buffer, typeof WebAssembly,
         typeof SharedArrayBuffer, typeof Atomics, typeof ArrayBuffer].join(','));`,
    );
    expect(probe.ctx.variables.get('kinds')).toBe(Array(14).fill('undefined').join(','));
  });

  it('prototype pollution stays in the sandbox: the host Object.prototype stays clean', async () => {
    const { fault } = await run(
      `Object.prototype.polluted = 'yes'; Array.prototype.push = null;
       context.setVariable('__proto__', JSON.parse('{"polluted":"yes"}'));
       context.session['__proto__'] = {polluted: 'yes'};
       request.headers['__proto__'] = 'x';`,
    );
    expect(fault).toBeUndefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(Object.prototype, 'polluted')).toBe(false);
    // The next run gets a fresh context: the pollution is gone there too.
    const next = await run("context.setVariable('p', String(({}).polluted))");
    expect(next.ctx.variables.get('p')).toBe('undefined');
  });

  it('eval of host code sees only the sandbox', async () => {
    const { ctx, fault } = await run(
      "context.setVariable('r', eval('typeof globalThis.process + typeof module + typeof import.meta'))",
    );
    expect(fault?.message ?? ctx.variables.get('r')).toMatch(/undefinedundefined|SyntaxError/);
  });

  it('an infinite loop ends at timeLimit with the timeout fault, and the next request on the same runtime works', async () => {
    const { fault } = await run('while (true) {}', {}, { timeLimit: 50 });
    expect(fault?.errorCode).toBe('steps.javascript.ScriptExecutionFailed');
    expect(fault?.message).toBe('Execution of JS-1 failed with error: Javascript runtime exceeded limit of 50ms');
    const next = await run("context.setVariable('ok', 'yes')");
    expect(next.ctx.variables.get('ok')).toBe('yes');
  });

  it('a memory bomb fails with out of memory; deep recursion with a stack overflow; both leave the runtime usable', async () => {
    const bomb = await run(
      "var s = 'x'; var a = []; for (;;) { a.push(s); s = s + s.slice(0, 1 << 20); }",
      {},
      { timeLimit: 5000 },
    );
    expect(bomb.fault?.message).toMatch(/out of memory|string too long/);
    const deep = await run('function f(n) { return f(n + 1) + 1 } f(0)');
    expect(deep.fault?.message).toMatch(/InternalError: stack overflow/);
    const next = await run("context.setVariable('ok', 'yes')");
    expect(next.ctx.variables.get('ok')).toBe('yes');
  });

  it('globals a script leaves are not seen by the next run (another policy, another tenant)', async () => {
    await run("var leaked = 'secret'; globalThis.alsoLeaked = 'secret'; this.third = 1;");
    const step = javaScriptPolicy.create(
      {
        source:
          "context.setVariable('seen', [typeof leaked, typeof alsoLeaked, typeof third, typeof context.getVariable].join())",
      },
      { namespace: 'other-tenant', name: 'JS-9' },
    );
    const ctx = makePolicyContext();
    await step(ctx);
    expect(ctx.variables.get('seen')).toBe('undefined,undefined,undefined,function');
  });

  it('a heap bomb fails with out of memory at the 32 MiB limit', async () => {
    const { fault } = await run('var a = []; for (var i = 0; ; i++) a[i] = i;', {}, { timeLimit: 10_000 });
    expect(fault?.message).toBe(
      'Execution of JS-1 failed with error: Javascript runtime error: "InternalError: out of memory"',
    );
    // Typed arrays allocate outside QuickJS's memory limit in this build: the sandbox has none.
    const typed = await run('var a = []; for (;;) a.push(new Uint8Array(1 << 22));');
    expect(typed.fault?.message).toMatch(/ReferenceError: 'Uint8Array' is not defined/);
  });

  it('promise jobs left running are bounded and do not survive the run', async () => {
    const endless = await run(
      'Promise.resolve().then(function loop() { return Promise.resolve().then(loop) })',
      {},
      { timeLimit: 100 },
    );
    expect(endless.fault?.message ?? 'ended').toMatch(/ended|exceeded limit/);
    const late = await run("Promise.resolve().then(function () { context.setVariable('late', 'ran') })");
    expect(late.ctx.variables.get('late')).toBe('ran');
    const next = await run("context.setVariable('ok', 'yes')");
    expect(next.ctx.variables.get('late')).toBeUndefined();
    expect(next.ctx.variables.get('ok')).toBe('yes');
  });

  it('huge print output is cut, not kept', async () => {
    const { ctx, fault } = await run("for (var i = 0; i < 100000; i++) print('0123456789')", {}, { timeLimit: 5000 });
    expect(fault).toBeUndefined();
    expect((ctx.variables.get('javascript.JS-1.print') as string).length).toBe(MAX_PRINT_CHARS);
  });

  it('hostile values through the object model: a huge setVariable and non-string arguments', async () => {
    const { ctx, fault } = await run(
      "context.setVariable('big', 'x'.repeat(1 << 20)); context.setVariable('obj', {toString: function () { return 'o' }});",
    );
    expect(fault).toBeUndefined();
    expect((ctx.variables.get('big') as string).length).toBe(1 << 20);
    expect(ctx.variables.get('obj')).toBe('o');
  });
});

describe('JavaScript on a worker thread', () => {
  const pool = new WorkerPool({ size: 1, queueLimit: 4 });
  afterAll(() => pool.close());
  const onPool = (ctx: PolicyContext): PolicyContext => {
    const offload = new StreamOffload(pool, { minBytes: 0, budgetMs: 30_000 }, new AbortController().signal);
    offload.startPhase();
    return { ...ctx, offload };
  };

  it('the object model crosses the thread: reads and writes land in the flow', async () => {
    await pool.ready();
    const { ctx, fault } = await run(
      `context.setVariable('got', context.getVariable('request.header.x-user') + ':' + request.queryParams.city);
       request.headers['x-worker'] = 'yes'; request.content = 'x'.repeat(200000);`,
      { headers: { 'x-user': 'ann' } },
      {},
      onPool,
    );
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('got')).toBe('ann:Paris');
    expect(ctx.request.headers.get('x-worker')).toBe('yes');
    expect(ctx.request.body.text().length).toBe(200000);
  });

  it('a loop on the worker ends at timeLimit while the event loop stays free; the worker serves the next run', async () => {
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const looping = run('while (true) {}', {}, { timeLimit: 300 }, onPool);
    // The event loop keeps turning while the script spins on the worker.
    await expect.poll(() => ticks, { timeout: 5000 }).toBeGreaterThan(3);
    const { fault } = await looping;
    clearInterval(timer);
    expect(fault?.message).toMatch(/exceeded limit of 300ms/);
    const next = await run("context.setVariable('ok', context.getVariable('request.verb'))", {}, {}, onPool);
    expect(next.ctx.variables.get('ok')).toBe('POST');
  });
});

describe('JavaScript in the flow engine', () => {
  const policy = (source: string, extra: Record<string, unknown> = {}) => ({
    type: 'JavaScript',
    enabled: true,
    configJson: JSON.stringify({ source, resourceURL: 'jsc://s.js' }),
    ...extra,
  });

  async function flow(policies: Record<string, unknown>, steps: string[]) {
    const snapshot = decodeRuntimeSnapshot({
      proxies: [
        {
          namespace: 'ns',
          name: 'p',
          route: 'ns/p',
          basePath: '/api',
          policies,
          flows: { preFlow: { request: steps.map((p) => ({ policy: p })) } },
        },
      ],
    });
    const compiled = compileProxy(snapshot.proxies[0]!, policyRegistry);
    const ctx = makePolicyContext({ path: '/api/orders', method: 'POST', proxy: { basePath: '/api' } });
    const outcome = await new FlowRun(compiled, ctx.exchange).runRequest();
    return { outcome, variables: ctx.exchange.variables };
  }

  it("a throwing script is Apigee's fault response with fault.name and javascript.{policy}.failed", async () => {
    const { outcome, variables } = await flow({ 'JS-1': policy("throw new Error('no')") }, ['JS-1']);
    expect(outcome.action).toBe('respond');
    if (outcome.action !== 'respond') return;
    expect(outcome.response.status).toBe(500);
    expect(JSON.parse(outcome.response.body.text())).toEqual({
      fault: {
        faultstring: 'Execution of JS-1 failed with error: Javascript runtime error: "Error: no (s.js:1)"',
        detail: { errorcode: 'steps.javascript.ScriptExecutionFailed' },
      },
    });
    expect(variables.get('fault.name')).toBe('ScriptExecutionFailed');
    expect(variables.get('javascript.JS-1.failed')).toBe(true);
  });

  it('continueOnError: the next step runs and sees the failure', async () => {
    const { outcome, variables } = await flow(
      {
        'JS-1': policy('while (true) {}', { continueOnError: true }),
        'JS-2': policy("context.setVariable('after', String(context.getVariable('javascript.JS-1.failed')))"),
      },
      ['JS-1', 'JS-2'],
    );
    expect(outcome.action).not.toBe('respond');
    expect(variables.get('after')).toBe('true');
  });
});
