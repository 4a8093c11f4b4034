import { describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { createResponseMessage } from '../../flow/message.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { PolicyConfigError } from '../support.ts';
import { raiseFaultPolicy } from './raise-fault.ts';

const meta = { namespace: 'shop', name: 'block' };

function raised(step: ReturnType<typeof raiseFaultPolicy.create>, ctx = makePolicyContext()): PolicyFault {
  try {
    void step(ctx); // a synchronous policy: done, or thrown, on return
  } catch (error) {
    if (error instanceof PolicyFault) return error;
    throw error;
  }
  throw new Error('RaiseFault did not raise');
}

describe('RaiseFault', () => {
  it('raises the configured response of docs/policies.md', () => {
    const fault = raised(
      raiseFaultPolicy.create(
        {
          statusCode: 403,
          reasonPhrase: 'Forbidden',
          payload: { contentType: 'application/json', content: '{"error":"blocked"}' },
        },
        meta,
      ),
    );
    expect(fault).toMatchObject({
      status: 403,
      errorCode: 'steps.raisefault.RaiseFault',
      reasonPhrase: 'Forbidden',
      body: { contentType: 'application/json', content: '{"error":"blocked"}' },
    });
  });

  it('expands header and payload templates', () => {
    const step = raiseFaultPolicy.create(
      {
        statusCode: 429,
        headers: { 'retry-after': '{retry.seconds}', 'x-path': '{request.path}' },
        payload: { content: 'slow down {developer.app.name}' },
      },
      meta,
    );
    const fault = raised(
      step,
      makePolicyContext({ path: '/a', variables: { 'retry.seconds': 30, 'developer.app.name': 'mobile' } }),
    );
    expect(fault.headers).toEqual({ 'retry-after': '30', 'x-path': '/a' });
    expect(fault.body).toEqual({ contentType: 'text/plain', content: 'slow down mobile' });
  });

  it('uses the standard fault body when there is no payload', () => {
    const fault = raised(raiseFaultPolicy.create({ statusCode: 503 }, meta));
    expect(fault.body).toBeUndefined();
    expect(fault.message).toBe('Raising fault. Fault name : block');
  });
});

describe('RaiseFault payload templates', () => {
  it('escapes variables by where they sit in the payload content type', () => {
    const step = raiseFaultPolicy.create(
      {
        statusCode: 401,
        payload: {
          contentType: 'application/json',
          content:
            '{"error":"a valid key is required","messageid":"{escapeJSON(messageid)}","id":"{request.header.x-id}"}',
        },
      },
      meta,
    );
    const hostile = '","admin":true,"x":"\\';
    const fault = raised(step, makePolicyContext({ headers: { 'x-id': hostile } }));
    expect(JSON.parse(fault.body!.content)).toEqual({
      error: 'a valid key is required',
      messageid: 'test-message-id',
      id: hostile,
    });
  });

  it('leaves a text/plain payload (the default) as it is', () => {
    const step = raiseFaultPolicy.create({ statusCode: 400, payload: { content: '"{request.header.x-id}"' } }, meta);
    expect(raised(step, makePolicyContext({ headers: { 'x-id': '"<' } })).body).toEqual({
      contentType: 'text/plain',
      content: '""<"',
    });
  });

  it('refuses bad templates at create()', () => {
    expect(() => raiseFaultPolicy.create({ statusCode: 400, headers: { 'x-a': '{a' } }, meta)).toThrow(
      new PolicyConfigError(meta, 'raiseFault.headers.x-a: the reference at offset 0 is never closed'),
    );
  });
});

describe('RaiseFault FaultResponse: AssignVariable, Copy, Remove', () => {
  it('assigns variables first, copies headers and the payload of a message, removes some, then sets its own', () => {
    const step = raiseFaultPolicy.create(
      {
        statusCode: 403,
        assignVariable: [
          { name: 'flow.reason', value: 'blocked' },
          { name: 'flow.caller', ref: 'request.header.x-user' },
        ],
        copy: { source: 'request', headers: ['x-correlation-id', 'x-user', 'content-type'], payload: true },
        remove: { headers: ['x-user'] },
        headers: { 'x-reason': '{flow.reason} {flow.caller}' },
      },
      meta,
    );
    const ctx = makePolicyContext({
      method: 'POST',
      headers: { 'x-correlation-id': 'c-1', 'x-user': 'ana' },
      body: { echo: true },
    });
    const fault = raised(step, ctx);
    expect(ctx.variables.get('flow.reason')).toBe('blocked');
    expect(fault.headers).toEqual({
      'x-correlation-id': 'c-1',
      'content-type': 'application/json',
      'x-reason': 'blocked ana',
    });
    expect(fault.body).toEqual({ contentType: 'application/json', content: '{"echo":true}' });
    expect(fault).toMatchObject({ status: 403, errorCode: 'steps.raisefault.RaiseFault' });
  });

  it('copies from a message variable AssignMessage createNew made', () => {
    const step = raiseFaultPolicy.create({ statusCode: 502, copy: { source: 'errorMessage', headers: ['x-a'] } }, meta);
    const ctx = makePolicyContext();
    ctx.variables.set(
      'errorMessage',
      createResponseMessage({ status: 500, headers: { 'x-a': 'from-named' }, body: Buffer.alloc(0) }),
    );
    expect(raised(step, ctx).headers).toEqual({ 'x-a': 'from-named' });
  });

  it('refuses at create() a copied header Envoy would not apply and an assignVariable without one source', () => {
    expect(() => raiseFaultPolicy.create({ statusCode: 400, copy: { headers: [':path'] } }, meta)).toThrow(
      PolicyConfigError,
    );
    expect(() =>
      raiseFaultPolicy.create({ statusCode: 400, assignVariable: [{ name: 'a', value: 'x', ref: 'y' }] }, meta),
    ).toThrow(PolicyConfigError);
  });
});

describe('RaiseFault FaultResponse: Add', () => {
  it('adds Apigee\'s reference example header (<Add><Headers><Header name="FaultHeader">{fault.name}</Header>)', () => {
    // docs.apigee.com raise-fault-policy, "Return FaultResponse payload": Set payload and status, Add a header.
    const step = raiseFaultPolicy.create(
      {
        statusCode: 500,
        reasonPhrase: 'Server error',
        payload: { contentType: 'text/xml', content: '<root>Please contact support@company.com</root>' },
        add: { headers: { FaultHeader: '{fault.name}' } },
      },
      meta,
    );
    const fault = raised(step, makePolicyContext({ variables: { 'fault.name': 'ErrorResponseCode' } }));
    expect(fault.headers).toEqual({ faultheader: 'ErrorResponseCode' });
    expect(fault.body).toEqual({ contentType: 'text/xml', content: '<root>Please contact support@company.com</root>' });
  });

  it('appends to a copied header instead of replacing it; Set (headers) still replaces', () => {
    const step = raiseFaultPolicy.create(
      {
        statusCode: 403,
        copy: { headers: ['x-trace', 'x-replaced'] },
        add: { headers: { 'x-trace': 'gateway', 'x-new': 'n', 'x-replaced': 'added' } },
        headers: { 'x-replaced': 'set' },
      },
      meta,
    );
    const fault = raised(step, makePolicyContext({ headers: { 'x-trace': 'client', 'x-replaced': 'client' } }));
    expect(fault.headers).toEqual({ 'x-trace': 'client,gateway', 'x-new': 'n', 'x-replaced': 'set' });
  });

  it('adds after remove: a removed copied header comes back with only the added value', () => {
    const step = raiseFaultPolicy.create(
      {
        statusCode: 400,
        copy: { headers: ['x-a'] },
        remove: { headers: ['x-a'] },
        add: { headers: { 'x-a': 'mine' } },
      },
      meta,
    );
    expect(raised(step, makePolicyContext({ headers: { 'x-a': 'theirs' } })).headers).toEqual({ 'x-a': 'mine' });
  });

  it('refuses pseudo-headers and bad templates in add at create(), and a CR/LF smuggled through a variable at run time', () => {
    expect(() => raiseFaultPolicy.create({ statusCode: 400, add: { headers: { ':status': '200' } } }, meta)).toThrow(
      PolicyConfigError,
    );
    expect(() => raiseFaultPolicy.create({ statusCode: 400, add: { headers: { 'x-a': '{{' } } }, meta)).toThrow(
      PolicyConfigError,
    );
    const step = raiseFaultPolicy.create({ statusCode: 400, add: { headers: { 'x-echo': '{flow.in}' } } }, meta);
    // A flow variable another policy set (ExtractVariables from a hostile body) may hold CR/LF.
    const ctx = makePolicyContext({ variables: { 'flow.in': 'a\r\nset-cookie: admin=1' } });
    expect(() => step(ctx)).toThrow(/CR, LF or NUL/);
  });
});
