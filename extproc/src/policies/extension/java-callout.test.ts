// JavaCallout without a JVM: what the step sends (the messages, the named variables, the call's reserved
// settings), how it applies an answer, and the fault for every way a call fails, against a fake host
// (ctx.callouts). The real host: java-callout.int.test.ts.
import { describe, expect, it } from 'vitest';
import type { MessageContext, MessageContext__Output } from '../../../../protos/gen/apigee/MessageContext.ts';
import type { JavaCalloutConfig } from '../../../../protos/policies/extension/java-callout.ts';
import { CalloutCallError, PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { ExternalCallouts } from '../../flow/types.ts';
import { javaCalloutPolicy } from './java-callout.ts';

const config: JavaCalloutConfig = {
  className: 'com.example.Callout',
  resourceURL: 'java://callouts-1.0.jar',
  properties: { greeting: 'hi' },
  flowVariables: ['my.var', 'my.num', 'gatehouse.javacallout.class'],
};

/** A host that records what it got and answers with `answer` (a function of the request) or fails. */
function fakeHost(answer: (m: MessageContext) => Partial<MessageContext__Output> | Error) {
  const seen: Array<{ address: string; message: MessageContext; timeoutMs: number }> = [];
  const callouts: ExternalCallouts = {
    call: (target, message, timeoutMs) => {
      seen.push({ address: target.address, message, timeoutMs });
      const a = answer(message);
      if (a instanceof Error) return Promise.reject(a);
      return Promise.resolve({
        request: null,
        response: null,
        error: null,
        fault: null,
        additionalFlowVariables: {},
        ...a,
      } as MessageContext__Output);
    },
  };
  return { callouts, seen };
}

async function run(
  callouts: ExternalCallouts,
  options: PolicyContextOptions = {},
  c: JavaCalloutConfig = config,
): Promise<{ ctx: ReturnType<typeof makePolicyContext>; fault?: PolicyFault }> {
  const ctx = makePolicyContext({ callouts, ...options });
  try {
    await javaCalloutPolicy.create(c, { namespace: 'default', name: 'jc' })(ctx);
    return { ctx };
  } catch (err) {
    if (err instanceof PolicyFault) return { ctx, fault: err };
    throw err;
  }
}

const strings = (...values: string[]) => ({ strings: values });

describe('JavaCallout: the call', () => {
  it('sends the request, the named variables and its settings, to the sidecar by default', async () => {
    const host = fakeHost(() => ({}));
    await run(host.callouts, {
      method: 'POST',
      path: '/orders?a=1&a=2',
      headers: { 'x-in': 'v' },
      body: 'payload',
      contentType: 'text/plain',
      variables: { 'my.var': 'mine', 'my.num': 7, 'not.named': 'x' },
    });
    const [{ address, message, timeoutMs }] = host.seen as [(typeof host.seen)[0]];
    expect(address).toBe(process.env.GATEHOUSE_JAVA_CALLOUT_HOST ?? '127.0.0.1:9443');
    expect(timeoutMs).toBe(2000);
    expect(message.request).toMatchObject({
      verb: 'POST',
      uri: '/orders?a=1&a=2',
      content: 'payload',
      queryParams: { a: strings('1', '2') },
    });
    expect(message.request!.headers!['x-in']).toEqual(strings('v'));
    expect(message.response).toBeUndefined();
    expect(message.additionalFlowVariables).toEqual({
      'gatehouse.javacallout.class': { string: 'com.example.Callout' },
      'gatehouse.javacallout.resource': { string: 'callouts-1.0.jar' },
      'gatehouse.javacallout.timeout_ms': { string: '1000' },
      'gatehouse.javacallout.property.greeting': { string: 'hi' },
      'my.var': { string: 'mine' },
      'my.num': { int32: 7 },
    });
  });

  it('sends no content when sendContent is false', async () => {
    const host = fakeHost(() => ({}));
    await run(host.callouts, { body: 'secret body', contentType: 'text/plain' }, { ...config, sendContent: false });
    expect(host.seen[0]!.message.request!.content).toBe('');
  });

  it('sends the response in the response flow', async () => {
    const host = fakeHost(() => ({}));
    await run(host.callouts, { response: { status: 201, headers: { 'x-out': 'o' }, body: 'done' } });
    expect(host.seen[0]!.message.response).toMatchObject({ statusCode: 201, content: 'done' });
  });
});

describe('JavaCallout: the answer', () => {
  it('applies header, query, content and variable changes; ignores reserved names', async () => {
    const host = fakeHost(() => ({
      request: {
        uri: '',
        verb: '',
        httpVersion: '',
        headers: { 'x-new': strings('1', '2'), 'x-gone': strings() },
        formParams: {},
        queryParams: { b: strings('3') },
        content: 'rewritten',
      },
      additionalFlowVariables: {
        'java.out': { string: 'yes', value: 'string' },
        'java.n': { int64: '12', value: 'int64' },
        'my.var': { value: undefined },
        'gatehouse.javacallout.content_changed': { string: 'request', value: 'string' },
        'gatehouse.javacallout.class': { string: 'evil', value: 'string' },
      },
    }));
    const { ctx, fault } = await run(host.callouts, {
      path: '/p?a=1',
      headers: { 'x-gone': 'here' },
      body: 'original',
      contentType: 'text/plain',
      variables: { 'my.var': 'mine' },
    });
    expect(fault).toBeUndefined();
    expect(ctx.request.headers.getAll('x-new')).toEqual(['1', '2']);
    expect(ctx.request.headers.has('x-gone')).toBe(false);
    expect(new URLSearchParams(ctx.request.query).getAll('b')).toEqual(['3']);
    expect(new URLSearchParams(ctx.request.query).getAll('a')).toEqual(['1']);
    expect(ctx.request.body.text()).toBe('rewritten');
    expect(ctx.variables.get('java.out')).toBe('yes');
    expect(ctx.variables.get('java.n')).toBe(12);
    expect(ctx.variables.get('my.var')).toBeUndefined();
    expect(ctx.variables.get('gatehouse.javacallout.class')).toBeUndefined();
  });

  it('leaves the content alone unless the host says the callout set it', async () => {
    const host = fakeHost(() => ({
      request: { uri: '', verb: '', httpVersion: '', headers: {}, formParams: {}, queryParams: {}, content: '' },
    }));
    const { ctx } = await run(host.callouts, { body: 'kept', contentType: 'text/plain' });
    expect(ctx.request.body.text()).toBe('kept');
  });

  it('refuses a header change Envoy would refuse (a hostile or buggy callout)', async () => {
    const host = fakeHost(() => ({
      request: {
        uri: '',
        verb: '',
        httpVersion: '',
        headers: { ':path': strings('/admin'), 'x-ok': strings('a\r\nb') },
        formParams: {},
        queryParams: {},
        content: '',
      },
    }));
    await expect(run(host.callouts)).rejects.toThrow(/:path|CR, LF/);
  });
});

describe('JavaCallout: faults', () => {
  it("raises Apigee's ExecutionError for the host's fault, with the callout's error response", async () => {
    const host = fakeHost(() => ({
      fault: { name: 'ExecutionError', faultString: 'Execution returned an error result', type: '', category: '' },
      additionalFlowVariables: {
        'gatehouse.javacallout.error': { string: 'threw java.lang.IllegalStateException: secret-ish', value: 'string' },
        'gatehouse.javacallout.error_response': { string: 'denied', value: 'string' },
        'gatehouse.javacallout.error_header.X-Why': { string: 'policy', value: 'string' },
        'gatehouse.javacallout.error_header.Content-Length': { string: '1', value: 'string' },
        'java.before': { string: 'kept', value: 'string' },
      },
    }));
    const { ctx, fault } = await run(host.callouts);
    expect(fault).toMatchObject({
      status: 500,
      errorCode: 'steps.javacallout.ExecutionError',
      message: 'Execution returned an error result',
      headers: { 'x-why': 'policy' },
      body: { contentType: 'text/plain', content: 'denied' },
    });
    expect(JSON.stringify(fault)).not.toContain('secret-ish');
    expect(ctx.variables.get('java.before')).toBe('kept');
  });

  it.each([
    ['DEADLINE_EXCEEDED: callout ran past 1000 ms', 'Execution timed out after 1000 ms'],
    ['RESOURCE_EXHAUSTED: every callout slot is busy', 'Java callout host is busy'],
    ['UNAVAILABLE: No connection established', 'Java callout host is unavailable'],
    ['INTERNAL: boom', 'Execution returned an error result'],
  ])('turns a failed call (%s) into ExecutionError: %s', async (detail, faultString) => {
    const { fault } = await run(fakeHost(() => new CalloutCallError(detail)).callouts);
    expect(fault).toMatchObject({ status: 500, errorCode: 'steps.javacallout.ExecutionError', message: faultString });
  });

  it('refuses configs whose class or jar name is not one (the compiler says the same)', () => {
    for (const c of [
      { ...config, className: 'a b' },
      { ...config, className: '../x' },
      { ...config, resourceURL: 'java://x/../y.jar' },
      { ...config, resourceURL: 'jsc://x.jar' },
    ])
      expect(() => javaCalloutPolicy.create(c, { namespace: 'default', name: 'jc' })).toThrow(/javaCallout\./);
  });
});
