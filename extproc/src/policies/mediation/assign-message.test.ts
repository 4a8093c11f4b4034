import { describe, expect, it } from 'vitest';
import type { AssignMessageConfig } from '../../../../protos/policies/mediation/assign-message.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { toPolicyFault } from '../../flow/fault-response.ts';
import { PolicyConfigError } from '../support.ts';
import { assignMessagePolicy } from './assign-message.ts';

const meta = { namespace: 'shop', name: 'add-headers' };

function run(config: AssignMessageConfig, opts: PolicyContextOptions = {}) {
  const ctx = makePolicyContext(opts);
  void assignMessagePolicy.create(config, meta)(ctx); // a synchronous policy: done, or thrown, on return
  return ctx;
}

describe('AssignMessage', () => {
  it('sets and removes response headers as in docs/policies.md', () => {
    const ctx = run(
      {
        assignTo: 'response',
        set: { headers: { 'x-served-by': 'gatehouse', 'x-app': '{developer.app.name}' } },
        remove: { headers: ['x-internal'] },
      },
      {
        variables: { 'developer.app.name': 'mobile' },
        response: { headers: { 'x-internal': 'secret', 'x-keep': '1' } },
      },
    );
    const headers = ctx.response!.headers;
    expect(headers.get('x-served-by')).toBe('gatehouse');
    expect(headers.get('x-app')).toBe('mobile');
    expect(headers.has('x-internal')).toBe(false);
    expect(headers.get('x-keep')).toBe('1');
  });

  it('runs shorthand members in the fixed order remove, copy, add, set', () => {
    const ctx = run(
      {
        set: { headers: { 'x-a': 'set' } },
        add: { headers: { 'x-a': 'added' } },
        remove: { headers: ['x-a'] },
      },
      { headers: { 'x-a': 'original' } },
    );
    // remove, then add "added", then set overwrites it.
    expect(ctx.request.headers.getAll('x-a')).toEqual(['set']);
  });

  it('runs operations in declared order', () => {
    const ctx = run(
      {
        operations: [
          { set: { headers: { 'x-a': 'set' } } },
          { add: { headers: { 'x-a': 'added' } } },
          { remove: { headers: ['x-b'] } },
        ],
      },
      { headers: { 'x-b': 'gone' } },
    );
    expect(ctx.request.headers.getAll('x-a')).toEqual(['set', 'added']);
    expect(ctx.request.headers.has('x-b')).toBe(false);
  });

  it('edits query parameters, verb and path of the request', () => {
    const ctx = run(
      {
        remove: { queryParams: ['debug'] },
        add: { queryParams: { tag: 'b' } },
        set: { queryParams: { page: '{page.next}' }, verb: 'PUT', path: '/v2{request.path}' },
      },
      { method: 'POST', path: '/orders', query: 'debug=1&tag=a&page=1', variables: { 'page.next': '2' } },
    );
    expect(ctx.request.method).toBe('PUT');
    expect(ctx.request.path).toBe('/v2/orders');
    expect(new URLSearchParams(ctx.request.query).getAll('tag')).toEqual(['a', 'b']);
    expect(new URLSearchParams(ctx.request.query).get('page')).toBe('2');
    expect(new URLSearchParams(ctx.request.query).has('debug')).toBe(false);
  });

  it('edits form parameters and the payload', () => {
    const form = run(
      { set: { formParams: { b: '2' } }, remove: { formParams: ['c'] } },
      { method: 'POST', body: 'a=1&c=3', contentType: 'application/x-www-form-urlencoded' },
    );
    expect(form.request.body.text()).toBe('a=1&b=2');
    const payload = run(
      {
        assignTo: 'response',
        set: {
          payload: { contentType: 'application/json', content: '{"app":"{developer.app.name}"}' },
          statusCode: 201,
          reasonPhrase: 'Created',
        },
      },
      { variables: { 'developer.app.name': 'mobile' }, response: { status: 200, body: 'old' } },
    );
    expect(payload.response!.body.text()).toBe('{"app":"mobile"}');
    expect(payload.response!.headers.get('content-type')).toBe('application/json');
    expect(payload.response!.status).toBe(201);
    expect(payload.response!.reasonPhrase).toBe('Created');
    const removed = run({ remove: { payload: true } }, { method: 'POST', body: 'x' });
    expect(removed.request.body.text()).toBe('');
  });

  it('copies headers, query parameters and payload from the request to the response', () => {
    const ctx = run(
      { assignTo: 'response', copy: { source: 'request', headers: ['x-request-id'], payload: true } },
      {
        method: 'POST',
        headers: { 'x-request-id': 'r-1' },
        body: { echo: true },
        response: { status: 200, headers: { 'x-request-id': 'other' } },
      },
    );
    expect(ctx.response!.headers.getAll('x-request-id')).toEqual(['r-1']);
    expect(ctx.response!.body.text()).toBe('{"echo":true}');
    expect(ctx.response!.headers.get('content-type')).toBe('application/json');
  });

  it('assigns variables from a value, a ref and a template', () => {
    const ctx = run(
      {
        assignVariable: [
          { name: 'a', value: 'literal' },
          { name: 'b', ref: 'request.verb' },
          { name: 'c', template: '{request.verb} {request.path}' },
        ],
      },
      { method: 'GET', path: '/x' },
    );
    expect(ctx.variables.get('a')).toBe('literal');
    expect(ctx.variables.get('b')).toBe('GET');
    expect(ctx.variables.get('c')).toBe('GET /x');
  });

  it("faults with Apigee's UnresolvedVariable when assigning to a response that does not exist yet", () => {
    const step = assignMessagePolicy.create({ assignTo: 'response', set: { headers: { a: 'b' } } }, meta);
    const ctx = makePolicyContext();
    expect(() => step(ctx)).toThrow(
      expect.objectContaining({
        status: 500,
        errorCode: 'steps.assignmessage.UnresolvedVariable',
        message: 'AssignMessage[add-headers]: unable to resolve variable response',
      }),
    );
    expect(ctx.variables.get('assignmessage.add-headers.failed')).toBe(true);
  });

  it('refuses mixing operations with shorthand members at create()', () => {
    expect(() => assignMessagePolicy.create({ set: {}, operations: [{ add: {} }] }, meta)).toThrow(PolicyConfigError);
  });
});

describe('AssignMessage payload templates', () => {
  const hostile = '","admin":true,"x":"\\</b><admin/>\u2028';

  it('escapes a variable inside a JSON string of a JSON payload (no key injection)', () => {
    const ctx = run(
      { set: { payload: { contentType: 'application/json', content: '{"user":"{request.header.x-user}"}' } } },
      { method: 'POST', headers: { 'x-user': hostile } },
    );
    expect(JSON.parse(ctx.request.body.text())).toEqual({ user: hostile });
    expect(ctx.request.headers.get('content-type')).toBe('application/json');
  });

  it("takes the mode from the message's Content-Type when the payload has none", () => {
    const config: AssignMessageConfig = { set: { payload: { content: '<a v="{request.header.x-user}"/>' } } };
    const ctx = run(config, {
      method: 'POST',
      body: '<old/>',
      contentType: 'text/xml',
      headers: { 'x-user': '"/><b x="' },
    });
    expect(ctx.request.body.text()).toBe('<a v="&quot;/&gt;&lt;b x=&quot;"/>');
    expect(() => run(config, { method: 'POST', headers: { 'content-type': ['text/xml', 'text/plain'] } })).toThrow(
      'the request Content-Type names 2 media types',
    );
    try {
      run(config, { method: 'POST', headers: { 'content-type': ['text/xml', 'text/plain'] } });
    } catch (error) {
      expect(toPolicyFault(error)).toMatchObject({ status: 400, errorCode: 'protocol.http.DuplicateHeader' });
    }
  });

  it('escapes for the content type set by an earlier header in the same operation', () => {
    const ctx = run(
      {
        set: {
          headers: { 'content-type': 'application/json' },
          payload: { content: '["{request.header.x-user}"]' },
        },
      },
      { method: 'POST', contentType: 'text/plain', headers: { 'x-user': hostile } },
    );
    expect(JSON.parse(ctx.request.body.text())).toEqual([hostile]);
  });

  it('refuses bad templates at create()', () => {
    expect(() => assignMessagePolicy.create({ set: { headers: { 'x-a': '{nope(a)}' } } }, meta)).toThrow(
      new PolicyConfigError(meta, 'assignMessage.set.headers.x-a: unknown template function "nope"'),
    );
  });
});

describe('AssignMessage: named messages, IgnoreUnresolvedVariables, variablePrefix', () => {
  it("creates a named request (Apigee's AssignTo createNew) that later steps read and copy from", () => {
    const ctx = makePolicyContext({ method: 'POST', path: '/orders', headers: { 'x-user': 'ana' } });
    void assignMessagePolicy.create(
      {
        assignTo: 'calloutRequest',
        createNew: true,
        type: 'request',
        copy: { source: 'request', headers: ['x-user'] },
        set: {
          verb: 'PUT',
          path: '/users/{request.header.x-user}',
          headers: { 'content-type': 'application/json' },
          payload: { content: '{"user":"{request.header.x-user}"}' },
        },
      },
      meta,
    )(ctx);
    expect(ctx.variables.get('calloutRequest.header.x-user')).toBe('ana');
    expect(ctx.variables.get('calloutRequest.verb')).toBe('PUT');
    expect(ctx.variables.get('calloutRequest.path')).toBe('/users/ana');
    expect(ctx.variables.get('calloutRequest.content')).toBe('{"user":"ana"}');
    // The request itself is untouched.
    expect(ctx.request.method).toBe('POST');
    expect(ctx.request.headers.has('content-type')).toBe(false);
    // Another step copies from the named message into the request.
    void assignMessagePolicy.create(
      { copy: { source: 'calloutRequest', headers: ['content-type'], payload: true } },
      { ...meta, name: 'copy-back' },
    )(ctx);
    expect(ctx.request.headers.get('content-type')).toBe('application/json');
    expect(ctx.request.body.text()).toBe('{"user":"ana"}');
  });

  it('answers VariableOfNonMsgType and UnresolvedVariable for a copy source that is no message', () => {
    const notMessage = assignMessagePolicy.create({ copy: { source: 'plain', headers: ['a'] } }, meta);
    expect(() => notMessage(makePolicyContext({ variables: { plain: 'text' } }))).toThrow(
      expect.objectContaining({ status: 500, errorCode: 'steps.assignmessage.VariableOfNonMsgType' }),
    );
    expect(() => notMessage(makePolicyContext())).toThrow(
      expect.objectContaining({ errorCode: 'steps.assignmessage.UnresolvedVariable' }),
    );
  });

  it('ignoreUnresolvedVariables false faults on an unset variable; true (default) expands it to ""', () => {
    const config: AssignMessageConfig = { set: { headers: { 'x-who': 'user {who.am.i}' } } };
    expect(run(config).request.headers.get('x-who')).toBe('user ');
    const strict = assignMessagePolicy.create({ ...config, ignoreUnresolvedVariables: false }, meta);
    const ctx = makePolicyContext();
    expect(() => strict(ctx)).toThrow(
      expect.objectContaining({
        errorCode: 'steps.assignmessage.UnresolvedVariable',
        message: 'AssignMessage[add-headers]: unable to resolve variable who.am.i',
      }),
    );
    expect(ctx.request.headers.has('x-who')).toBe(false);
    expect(
      run({ ...config, ignoreUnresolvedVariables: false }, { variables: { 'who.am.i': 'ana' } }).request.headers.get(
        'x-who',
      ),
    ).toBe('user ana');
  });

  it("renders a payload with variablePrefix and variableSuffix, braces literal (Apigee's example)", () => {
    const ctx = run(
      {
        set: {
          payload: {
            contentType: 'application/json',
            variablePrefix: '@',
            variableSuffix: '#',
            content:
              '{"name":"foo","type":"@apiproxy.name#","user":"@request.header.x-user#","literal":"{not.a.variable}"}',
          },
        },
      },
      { method: 'POST', headers: { 'x-user': 'a"b' } },
    );
    expect(JSON.parse(ctx.request.body.text())).toEqual({
      name: 'foo',
      type: 'test',
      user: 'a"b',
      literal: '{not.a.variable}',
    });
  });

  it('refuses createNew without a message variable name and a lone variablePrefix', () => {
    expect(() => assignMessagePolicy.create({ createNew: true, assignTo: 'request', set: {} }, meta)).toThrow(
      PolicyConfigError,
    );
    expect(() => assignMessagePolicy.create({ set: { payload: { content: 'x', variablePrefix: '@' } } }, meta)).toThrow(
      PolicyConfigError,
    );
  });

  it('one step, templates parsed once, renders each request from its own variables (no value kept)', () => {
    const step = assignMessagePolicy.create(
      {
        add: { headers: { 'x-added': 'a-{developer.app.name}' }, queryParams: { app: '{developer.app.name}' } },
        set: { headers: { 'x-app': '{developer.app.name}', 'x-fixed': 'plain' }, path: '/v2/{developer.app.name}' },
      },
      meta,
    );
    for (const [app, other] of [
      ['mobile', 'web'],
      ['web', 'mobile'],
      ['', 'web'],
    ] as const) {
      const ctx = makePolicyContext({ path: '/v1/x', variables: app === '' ? {} : { 'developer.app.name': app } });
      void step(ctx);
      expect(ctx.request.headers.get('x-app')).toBe(app);
      expect(ctx.request.headers.get('x-added')).toBe(`a-${app}`);
      expect(ctx.request.headers.get('x-fixed')).toBe('plain');
      expect(ctx.request.path).toBe(`/v2/${app}`);
      expect(new URLSearchParams(ctx.request.query).get('app')).toBe(app);
      expect(ctx.request.headers.get('x-app')).not.toBe(other);
    }
  });
});
