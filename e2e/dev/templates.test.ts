// Templates and Content-Type rules end to end: manifests compiled by the real compiler, devproxy on
// xDS, a real extproc and the echo upstream, over real HTTP (docs/policies-templates.md).
import { request, type OutgoingHttpHeaders, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { closeServer, pathReady, proxyYaml, startEcho, startStack, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;

const policy = (name: string, spec: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: ${name}, namespace: test}
spec: ${spec}
`;

interface Reply {
  status: number;
  body: string;
}

type Headers = Record<string, string | string[]>;

/** One HTTP/1.1 request whose headers may repeat (an array sends one header line per value). */
function post(url: string, headers: Headers, body?: string): Promise<Reply> {
  // Node sends an array value as repeated lines for any header; its types allow that only for some.
  const outgoing = headers as OutgoingHttpHeaders;
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: outgoing, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(
    [
      proxyYaml({
        name: 'stamp',
        basePath: '/stamp',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: json-body}]}}',
      }),
      policy(
        'json-body',
        `{type: AssignMessage, assignMessage: {set: {payload: {contentType: application/json, content: '{"user": "{request.header.x-user}", "role": "guest", "tag": "{toUpperCase(request.header.x-user)}"}'}}}}`,
      ),
      proxyYaml({
        name: 'fault',
        basePath: '/fault',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: key-problem}]}}',
      }),
      policy(
        'key-problem',
        `{type: RaiseFault, raiseFault: {statusCode: 401, payload: {contentType: application/xml, content: '<error id="{messageid}" tag="{request.header.x-tag}"><user>{request.header.x-user}</user></error>'}}}`,
      ),
      proxyYaml({
        name: 'guard',
        basePath: '/guard',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: json-guard}]}}',
      }),
      policy('json-guard', '{type: JSONThreatProtection, jsonThreatProtection: {containerDepth: 3}}'),
    ].join('---\n'),
  );
  await pathReady(stack);
});

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('templates over HTTP', () => {
  it('keeps a hostile header inside its JSON string: the upstream sees exactly the keys the template has', async () => {
    const user = '","role":"admin","x":"\\';
    const reply = await post(`${stack.baseUrl()}/stamp/x`, { 'x-user': user, 'content-type': 'text/plain' }, 'hi');
    expect(reply.status).toBe(200);
    const forwarded = JSON.parse((JSON.parse(reply.body) as { body: string }).body) as Record<string, string>;
    expect(forwarded).toEqual({ user, role: 'guest', tag: user.toUpperCase() });
  });

  it('keeps a hostile header inside its XML attribute and text in a RaiseFault; the edge replaces a client request id', async () => {
    const hostile = '"/><admin x="';
    const reply = await post(`${stack.baseUrl()}/fault/x`, {
      'x-request-id': hostile,
      'x-tag': hostile,
      'x-user': '</user><admin/><user>',
    });
    expect(reply.status).toBe(401);
    // Envoy at the edge (use_remote_address, no internal addresses) replaces the client's x-request-id
    // (UUIDRequestIDExtension::set), so messageid is a fresh UUID, never the client's value.
    expect(reply.body).toMatch(
      /^<error id="[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}" tag="&quot;\/&gt;&lt;admin x=&quot;"><user>&lt;\/user&gt;&lt;admin\/&gt;&lt;user&gt;<\/user><\/error>$/,
    );
  });
});

describe('Content-Type spellings over HTTP', () => {
  const bomb = '[[[[[[1]]]]]]';
  const guard = (headers: Headers) => post(`${stack.baseUrl()}/guard/x`, headers, bomb);

  it.each(['text/json', 'application/x-json', 'Application/JSON; charset=utf-8', 'application/vnd.x+json'])(
    'checks a body declared %j',
    async (type) => {
      const reply = await guard({ 'content-type': type });
      expect([reply.status, errorCode(reply.body)]).toEqual([400, 'steps.jsonthreatprotection.ExecutionFailed']);
    },
  );

  it('checks a body sent without a Content-Type', async () => {
    const reply = await guard({});
    expect([reply.status, errorCode(reply.body)]).toEqual([400, 'steps.jsonthreatprotection.ExecutionFailed']);
  });

  it('refuses two Content-Type header lines and a Content-Type list', async () => {
    const cases: Headers[] = [
      { 'content-type': ['text/plain', 'application/json'] },
      { 'content-type': 'application/json, text/plain' },
    ];
    for (const headers of cases) {
      const reply = await guard(headers);
      expect([reply.status, errorCode(reply.body)]).toEqual([400, 'protocol.http.DuplicateHeader']);
    }
  });

  it('passes a body of another declared type to the upstream', async () => {
    const reply = await guard({ 'content-type': 'text/plain' });
    expect(reply.status).toBe(200);
    expect((JSON.parse(reply.body) as { body: string }).body).toBe(bomb);
  });
});
