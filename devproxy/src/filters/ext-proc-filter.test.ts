// The ext_proc filter as Envoy runs it, against a scripted ext_proc server, with the config the real
// compiler emits served over the real xDS server: per-route processing modes and metadata, the
// attributes, phase order, mutations under the mutation rules, immediate responses, message_timeout
// and failure_mode_allow.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { continueAll, startFakeExtProc, type FakeExtProc, type Script } from '../../../e2e/dev/fake-extproc.ts';
import {
  closeServer,
  extProcOf,
  publishEdited,
  send,
  startEcho,
  startStack,
  type Stack,
} from '../../../e2e/dev/harness.ts';

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
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
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
    const plain = await send(`${stack.baseUrl()}/plain/a`, { headers: { 'x-request-id': 'rid-1' } });
    await send(`${stack.baseUrl()}/full/b`);
    expect(fake.streams).toHaveLength(2);
    expect(fake.streams[0]!.metadata.get('x-gatehouse-route')).toEqual(['test/plain']);
    expect(fake.streams[1]!.metadata.get('x-gatehouse-route')).toEqual(['test/full']);
    const [first, ...rest] = fake.streams[0]!.messages;
    const fields = first!.attributes['envoy.filters.http.ext_proc']!.fields;
    expect(fields['source.address']!.stringValue).toMatch(/^127\.0\.0\.1:\d+$/);
    // request.id is the x-request-id the connection manager settled on: a new one at the edge.
    expect(fields['request.id']!.stringValue).not.toBe('rid-1');
    expect(fields['request.id']!.stringValue).toBe(plain.echo?.headers['x-request-id']);
    expect(fields['connection.mtls']!.boolValue).toBe(false);
    expect(fields['xds.route_name']!.stringValue).toBe('test/plain');
    expect(rest.every((m) => Object.keys(m.attributes).length === 0)).toBe(true);
  });

  it('Filter::addAttributes: xds.route_name is left out when no route matched', async () => {
    await send(`${stack.baseUrl()}/nowhere`);
    const fields = fake.streams.at(-1)!.messages[0]!.attributes['envoy.filters.http.ext_proc']!.fields;
    expect(Object.keys(fields).sort()).toEqual(['connection.mtls', 'request.id', 'source.address']);
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
  it('applies header mutations both ways', async () => {
    fake.script = (m) => {
      if (m.request === 'requestHeaders') {
        return {
          requestHeaders: {
            response: {
              headerMutation: {
                setHeaders: [header('x-added', 'yes')],
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
    expect(r.headers['x-resp']).toBe('r');
    expect(r.headers['x-internal']).toBeUndefined();
  });

  it('ProcessorState::validateContentLength: a body replaced under the original content-length is a 500; removed, the upstream gets it chunked', async () => {
    const replace =
      (removeLength: boolean): Script =>
      (m) =>
        m.request === 'requestBody'
          ? {
              requestBody: {
                response: {
                  bodyMutation: { body: Buffer.from('{"replaced":true}') },
                  ...(removeLength ? { headerMutation: { removeHeaders: ['content-length'] } } : {}),
                },
              },
            }
          : continueAll(m, undefined as never);
    const post = { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' };
    fake.script = replace(false);
    const refused = await send(`${stack.baseUrl()}/full/a`, post);
    expect(refused.status).toBe(500);
    expect(refused.body).toBe('');
    fake.script = replace(true);
    const r = await send(`${stack.baseUrl()}/full/a`, post);
    expect(r.echo?.body).toBe('{"replaced":true}');
    expect(r.echo?.headers['content-length']).toBeUndefined();
    expect(r.echo?.headers['transfer-encoding']).toBe('chunked');
  });

  it('Checker::isAllowed under the compiled mutation rules: :path, :method and host (as :authority) may be set (allow_all_routing)', async () => {
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? {
            requestHeaders: {
              response: {
                headerMutation: {
                  setHeaders: [
                    header(':path', '/full/elsewhere'),
                    header(':method', 'DELETE'),
                    header('host', 'backend.example'),
                    header('x-allowed', 'yes'),
                  ],
                },
              },
            },
          }
        : continueAll(m, undefined as never);
    const r = await send(`${stack.baseUrl()}/full/a`);
    expect(r.echo?.path).toBe('/elsewhere');
    expect(r.echo?.method).toBe('DELETE');
    expect(r.echo?.headers.host).toBe('backend.example');
    expect(r.echo?.headers['x-allowed']).toBe('yes');
  });

  it('Checker::check under the compiled mutation rules: x-envoy* and :scheme are refused as errors (disallow_is_error): 500, the upstream never called', async () => {
    for (const refused of [header('x-envoy-original-path', '/evil'), header(':scheme', 'https')]) {
      fake.script = (m) =>
        m.request === 'requestHeaders'
          ? { requestHeaders: { response: { headerMutation: { setHeaders: [header('x-allowed', 'yes'), refused] } } } }
          : continueAll(m, undefined as never);
      const r = await send(`${stack.baseUrl()}/full/a`);
      expect(r.status).toBe(500);
      expect(r.body).toBe('');
      expect(r.headers['x-upstream']).toBeUndefined();
    }
  });

  it('Checker::isAllowed under the compiled mutation rules: :status may be set on a response', async () => {
    fake.script = (m) =>
      m.request === 'responseHeaders'
        ? { responseHeaders: { response: { headerMutation: { setHeaders: [header(':status', '201')] } } } }
        : continueAll(m, undefined as never);
    expect((await send(`${stack.baseUrl()}/full/a`)).status).toBe(201);
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
      const timedOut = await send(`${stack.baseUrl()}/plain/a`);
      expect(timedOut).toMatchObject({ status: 504, body: '' });
      expect(timedOut.headers['content-type']).toBeUndefined();
      expect(timedOut.headers['content-length']).toBe('0');
      expect(timedOut.headers.server).toBe('envoy');
      fake.script = () => 'fail';
      expect(await send(`${stack.baseUrl()}/plain/a`)).toMatchObject({ status: 500, body: '' });
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

describe('Filter::onReceiveMessage: mode_override under the compiled allow_mode_override', () => {
  it('a reply to the request headers can ask for the response headers of a route that skips them', async () => {
    await send(`${stack.baseUrl()}/plain/a`);
    expect(phases()).toEqual(['requestHeaders']);
    fake.script = (m) =>
      m.request === 'requestHeaders'
        ? { requestHeaders: {}, modeOverride: { responseHeaderMode: 'SEND' } }
        : continueAll(m, undefined as never);
    await send(`${stack.baseUrl()}/plain/a`);
    expect(phases()).toEqual(['requestHeaders', 'responseHeaders']);
  });
});

describe('config devproxy does not play is rejected (NACK), as Envoy would reject what it cannot honour', () => {
  const nack = async (edit: (extProc: Record<string, unknown>) => void) => {
    await publishEdited(stack, manifests('FailClosed'), (snapshot) => edit(extProcOf(snapshot)), 'nack');
    const lds = stack.xds.registry.get(stack.nodeId)!.types.LDS!;
    return lds.lastNack?.message ?? '';
  };

  it.each([
    ['observability_mode', { observability_mode: true }],
    ['forward_rules', { forward_rules: { allowed_headers: { patterns: [{ exact: 'a' }] } } }],
    ['metadata_options', { metadata_options: { forwarding_namespaces: { untyped: ['a'] } } }],
    ['BUFFERED_PARTIAL', { processing_mode: { request_body_mode: 'BUFFERED_PARTIAL' } }],
    ['an attribute devproxy cannot evaluate', { request_attributes: ['request.headers'] }],
    [
      'route_cache_action with disable_clear_route_cache',
      { route_cache_action: 'CLEAR', disable_clear_route_cache: true },
    ],
  ])('%s', async (_name, fields) => {
    expect(await nack((e) => Object.assign(e, fields))).toMatch(
      /not supported by devproxy|cannot evaluate|cannot both be set/,
    );
    // The running config is untouched.
    expect((await send(`${stack.baseUrl()}/plain/a`)).status).toBe(200);
  });

  it('what devproxy plays is accepted: route_cache_action, max_message_timeout, response_attributes, disable_immediate_response', async () => {
    await publishEdited(stack, manifests('FailClosed'), (snapshot) =>
      Object.assign(extProcOf(snapshot), {
        route_cache_action: 'RETAIN',
        max_message_timeout: '2s',
        response_attributes: ['response.code'],
        disable_immediate_response: false,
      }),
    );
    expect((await send(`${stack.baseUrl()}/plain/a`)).status).toBe(200);
    await stack.publish(manifests('FailClosed'));
  });
});
