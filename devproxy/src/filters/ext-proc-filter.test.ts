// The ext_proc filter as Envoy runs it, against a scripted ext_proc server, with the config the real
// compiler emits served over the real xDS server: per-route processing modes and metadata, the
// attributes, phase order, mutations under the mutation rules, immediate responses, message_timeout
// and failure_mode_allow.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continueAll, startFakeExtProc, type FakeExtProc } from '../../../e2e/dev/fake-extproc.ts';
import { closeServer, send, startEcho, startStack, type Stack } from '../../../e2e/dev/harness.ts';

let fake: FakeExtProc;
let stack: Stack;
let echo: Awaited<ReturnType<typeof startEcho>>;

/**
 * The config under test. The message timeout is generous unless a test is about it: the scripted
 * server answers at once, but a loaded machine can take longer than a short one to get the answer there.
 */
const manifests = (
  failureMode: 'FailClosed' | 'FailOpen',
  messageTimeout = '10s',
) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP}]
  failureMode: ${failureMode}
  messageTimeout: ${messageTimeout}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: full, namespace: test}
spec:
  basePath: /full
  target: {url: "http://127.0.0.1:${echo.port}"}
  flows:
    preFlow: {request: [{policy: json-guard}], response: [{policy: stamp}]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: plain, namespace: test}
spec:
  basePath: /plain
  target: {url: "http://127.0.0.1:${echo.port}"}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: json-guard, namespace: test}
spec:
  type: JSONThreatProtection
  jsonThreatProtection: {containerDepth: 10}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: test}
spec:
  type: AssignMessage
  assignMessage: {assignTo: response, set: {headers: {x-stamp: "1"}}}
`;

const header = (key: string, value: string) => ({ header: { key, rawValue: Buffer.from(value) } });
const phases = () => fake.streams.at(-1)!.messages.map((m) => m.request);

beforeAll(async () => {
  fake = await startFakeExtProc();
  echo = await startEcho();
  stack = await startStack({ extProcPort: fake.port });
  await stack.publish(manifests('FailClosed'));
});

afterAll(async () => {
  await stack.close();
  await fake.close();
  await closeServer(echo.server);
});

beforeEach(() => {
  fake.script = continueAll;
  fake.streams.length = 0;
});

describe('the stream', () => {
  it('opens one stream per request with the route metadata and the listener attributes on the first message', async () => {
    await send(`${stack.baseUrl()}/plain/a`, { headers: { 'x-request-id': 'rid-1' } });
    await send(`${stack.baseUrl()}/full/b`);
    expect(fake.streams).toHaveLength(2);
    expect(fake.streams[0]!.metadata.get('x-gatehouse-route')).toEqual(['test/plain']);
    expect(fake.streams[1]!.metadata.get('x-gatehouse-route')).toEqual(['test/full']);
    const [first, ...rest] = fake.streams[0]!.messages;
    const fields = first!.attributes['envoy.filters.http.ext_proc']!.fields;
    expect(fields['source.address']!.stringValue).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(fields['request.id']!.stringValue).toBe('rid-1');
    expect(fields['connection.mtls']!.boolValue).toBe(false);
    expect(fields['xds.route_name']!.stringValue).toBe('test/plain');
    expect(rest.every((m) => Object.keys(m.attributes).length === 0)).toBe(true);
  });

  it("sends only the phases the route asks for, in Envoy's order", async () => {
    await send(`${stack.baseUrl()}/plain/a`, { method: 'POST', body: '{"a":1}' });
    expect(phases()).toEqual(['requestHeaders']);
    await send(`${stack.baseUrl()}/full/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(phases()).toEqual(['requestHeaders', 'requestBody', 'responseHeaders']);
    const headers = fake.streams.at(-1)!.messages[0]!.requestHeaders!.headers!.headers.map((h) => h.key);
    expect(headers.slice(0, 4)).toEqual([':method', ':path', ':scheme', ':authority']);
  });

  it('sends no messages for a request that matches no route beyond the listener-level request headers', async () => {
    expect((await send(`${stack.baseUrl()}/nowhere`)).status).toBe(404);
    expect(phases()).toEqual(['requestHeaders']);
    expect(fake.streams.at(-1)!.metadata.get('x-gatehouse-route')).toEqual([]);
  });
});

describe('mutations', () => {
  it('applies header mutations both ways and ignores those the mutation rules forbid', async () => {
    fake.script = (m) => {
      if (m.request === 'requestHeaders') {
        return {
          requestHeaders: {
            response: {
              headerMutation: {
                setHeaders: [
                  header('x-added', 'yes'),
                  header('host', 'evil.example'),
                  header(':authority', 'evil.example'),
                  header('x-envoy-debug', '1'),
                ],
                removeHeaders: ['x-drop'],
              },
            },
          },
        };
      }
      if (m.request === 'responseHeaders')
        return {
          responseHeaders: {
            response: { headerMutation: { setHeaders: [header('x-resp', 'r')], removeHeaders: ['x-internal'] } },
          },
        };
      return continueAll(m, undefined as never);
    };
    const r = await send(`${stack.baseUrl()}/full/a`, { headers: { 'x-drop': 'gone' } });
    expect(r.echo?.headers['x-added']).toBe('yes');
    expect(r.echo?.headers['x-drop']).toBeUndefined();
    expect(r.echo?.headers.host).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(r.echo?.headers['x-envoy-debug']).toBeUndefined();
    expect(r.headers['x-resp']).toBe('r');
    expect(r.headers['x-internal']).toBeUndefined();
  });

  it('replaces the request body from a body mutation', async () => {
    fake.script = (m) =>
      m.request === 'requestBody'
        ? { requestBody: { response: { bodyMutation: { body: Buffer.from('{"replaced":true}') } } } }
        : continueAll(m, undefined as never);
    const r = await send(`${stack.baseUrl()}/full/a`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":1}',
    });
    expect(r.echo?.body).toBe('{"replaced":true}');
    expect(r.echo?.headers['content-length']).toBe('17');
  });

  it('sends an immediate response to the client without reaching the upstream', async () => {
    fake.script = () => ({
      immediateResponse: {
        status: { code: 'Forbidden' },
        headers: { setHeaders: [header('content-type', 'application/json')] },
        body: Buffer.from('{"fault":"no"}'),
        details: 'denied',
      },
    });
    const r = await send(`${stack.baseUrl()}/full/a`);
    expect(r.status).toBe(403);
    expect(r.body).toBe('{"fault":"no"}');
    expect(r.headers['content-type']).toBe('application/json');
    expect(r.headers['x-upstream']).toBeUndefined();
  });
});

describe('failures', () => {
  it('fails closed: 504 when no reply comes within message_timeout, 500 on a gRPC error', async () => {
    await stack.publish(manifests('FailClosed', '150ms'));
    try {
      fake.script = () => 'silent';
      expect((await send(`${stack.baseUrl()}/plain/a`)).status).toBe(504);
      fake.script = () => 'fail';
      expect((await send(`${stack.baseUrl()}/plain/a`)).status).toBe(500);
    } finally {
      await stack.publish(manifests('FailClosed'));
    }
  });

  it('with failure_mode_allow, carries on to the upstream as if there were no ext_proc', async () => {
    await stack.publish(manifests('FailOpen', '150ms'));
    try {
      fake.script = () => 'silent';
      const late = await send(`${stack.baseUrl()}/plain/a`);
      expect(late.status).toBe(200);
      expect(late.headers['x-upstream']).toBe('echo');
      fake.script = () => 'fail';
      expect((await send(`${stack.baseUrl()}/plain/a`)).status).toBe(200);
      // A failure during the response phase keeps the upstream's response (the request is not resent).
      fake.script = (m) => (m.request === 'responseHeaders' ? 'fail' : continueAll(m, undefined as never));
      const r = await send(`${stack.baseUrl()}/full/a`);
      expect(r.status).toBe(200);
      expect(r.echo?.path).toBe('/a');
    } finally {
      await stack.publish(manifests('FailClosed'));
    }
  });
});

describe('an unreachable ext_proc cluster', () => {
  it('fails closed with 500', async () => {
    const dead = await startStack({ extProcPort: 1 });
    try {
      await dead.publish(manifests('FailClosed'));
      expect((await send(`${dead.baseUrl()}/plain/a`)).status).toBe(500);
    } finally {
      await dead.close();
    }
  });
});
