// End to end through `gatehouse dev` (operator folder mode + xDS, extproc subscribed over xDS,
// devproxy, echo upstream) over real HTTP, one proxy per policy of the engine issue.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { send } from './harness.ts';
import { devPorts, gatehouse, until, type Command } from './processes.ts';

/** The error code of a fault response body. */
const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

let dev: Command;
let dir: string;
let base: string;

const proxy = (name: string, request: string[], extra = '', response: string[] = []) => `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: e2e}
spec:
  basePath: /${name}
  target: {url: "http://127.0.0.1:UPSTREAM"}
  flows:
    preFlow: {request: [${request.map((p) => `{policy: ${p}}`).join(', ')}], response: [${response.map((p) => `{policy: ${p}}`).join(', ')}]}
${extra}`;

const policy = (name: string, type: string, member: string, config: string) => `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: ${name}, namespace: e2e}
spec: {type: ${type}, ${member}: ${config}}
`;

/** A consumer key outside Latin-1: only its UTF-8 bytes spell it. */
const INTL_KEY = 'ключ-🔑';
/** A header value carrying these bytes: Node writes each character of a header string as one byte. */
const asHeaderBytes = (bytes: Buffer) => bytes.toString('latin1');

const manifests = [
  proxy('keyed', ['verify-key'], '', ['stamp']),
  policy('verify-key', 'VerifyAPIKey', 'verifyAPIKey', '{apiKey: {ref: request.header.x-api-key}}'),
  policy(
    'stamp',
    'AssignMessage',
    'assignMessage',
    '{assignTo: response, set: {headers: {x-served-by: gatehouse, x-app: "{developer.app.name}"}}, remove: {headers: [x-internal]}}',
  ),
  `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: all, namespace: e2e}
spec: {proxies: [keyed], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: mobile, namespace: e2e}
spec:
  developer: {email: dev@example.com}
  products: [{name: all, status: Approved}]
  credentials: [{secretRef: {name: mobile-key}, status: Approved}, {secretRef: {name: intl-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: mobile-key, namespace: e2e}
stringData: {consumerKey: k-123, consumerSecret: s-456}
---
apiVersion: v1
kind: Secret
metadata: {name: intl-key, namespace: e2e}
stringData: {consumerKey: "${INTL_KEY}", consumerSecret: s-789}
`,
  proxy('acl', ['deny-doc-net']),
  policy(
    'deny-doc-net',
    'AccessControl',
    'accessControl',
    '{validateBasedOn: XForwardedForFirstIP, noRuleMatchAction: Allow, rules: [{action: Deny, sourceAddresses: ["203.0.113.0/24"]}]}',
  ),
  proxy('local-deny', ['deny-loopback']),
  policy(
    'deny-loopback',
    'AccessControl',
    'accessControl',
    '{noRuleMatchAction: Allow, rules: [{action: Deny, sourceAddresses: ["127.0.0.0/8"]}]}',
  ),
  proxy('json', ['json-guard']),
  policy('json-guard', 'JSONThreatProtection', 'jsonThreatProtection', '{containerDepth: 3, arrayElementCount: 5}'),
  proxy('xml', ['xml-guard']),
  policy('xml-guard', 'XMLThreatProtection', 'xmlThreatProtection', '{structureLimits: {nodeDepth: 3}}'),
  proxy('regex', ['sqli']),
  policy(
    'sqli',
    'RegularExpressionProtection',
    'regularExpressionProtection',
    '{queryParams: [{name: q, patterns: ["(?i)select\\\\s.+\\\\sfrom"]}]}',
  ),
  proxy('extract', ['item-id', 'item-header']),
  policy('item-id', 'ExtractVariables', 'extractVariables', '{variablePrefix: item, uriPath: ["/items/{id}"]}'),
  policy(
    'item-header',
    'AssignMessage',
    'assignMessage',
    '{assignTo: request, set: {headers: {x-item-id: "{item.id}"}}}',
  ),
  proxy('multi', ['add-tag']),
  policy('add-tag', 'AssignMessage', 'assignMessage', '{assignTo: request, add: {headers: {x-tag: two}}}'),
  proxy('rewrite', ['new-path'], '', ['created']),
  policy(
    'new-path',
    'AssignMessage',
    'assignMessage',
    '{assignTo: request, set: {path: /rewrite/v2/items, verb: PUT, headers: {host: backend.internal}}}',
  ),
  // A header value a client controls, decoded from the query: CR LF in it is refused at the policy.
  proxy('note', ['note']),
  policy(
    'note',
    'AssignMessage',
    'assignMessage',
    '{assignTo: request, set: {headers: {x-note: "{request.queryparam.note}"}}}',
  ),
  policy('created', 'AssignMessage', 'assignMessage', '{assignTo: response, set: {statusCode: 201}}'),
  proxy('raise', ['teapot']),
  policy(
    'teapot',
    'RaiseFault',
    'raiseFault',
    '{statusCode: 418, reasonPhrase: "I\'m a teapot", payload: {contentType: application/json, content: \'{"error":"short and stout"}\'}}',
  ),
  proxy('basic', ['encode-basic']),
  policy(
    'encode-basic',
    'BasicAuthentication',
    'basicAuthentication',
    '{operation: Encode, user: alice, password: {secretRef: {name: upstream-basic, key: password}}}',
  ),
  `---
apiVersion: v1
kind: Secret
metadata: {name: upstream-basic, namespace: e2e, labels: {gatehouse.dev/credential: "true"}}
stringData: {password: wonderland}
`,
  proxy('cors', ['cors'], '', ['cors']),
  policy('cors', 'CORS', 'cors', '{allowOrigins: ["https://app.example.com"], allowMethods: [GET, POST], maxAge: 600}'),
  // The data plane `gatehouse dev` runs, with a generous message timeout: these tests judge what the
  // policies answer, not latency, and a policy's first run on a loaded machine can outlast 200 ms.
  `---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 5s
`,
];

beforeAll(async () => {
  const { port, upstreamPort, args } = await devPorts();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-dev-'));
  writeFileSync(join(dir, 'all.yaml'), manifests.join('').replaceAll('UPSTREAM', String(upstreamPort)));
  dev = gatehouse(['dev', '-f', dir, ...args]);
  base = `http://127.0.0.1:${port}`;
  await until(dev, 'devproxy to route to extproc', async () => (await send(`${base}/keyed/x`)).status === 401, 60_000);
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('security', () => {
  it('VerifyAPIKey: 401 without a key, 200 with it, and AssignMessage stamps the response', async () => {
    const denied = await send(`${base}/keyed/orders`);
    expect(denied.status).toBe(401);
    expect(errorCode(denied.body)).toBe('oauth.v2.FailedToResolveAPIKey');
    expect((await send(`${base}/keyed/orders`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    const ok = await send(`${base}/keyed/orders`, { headers: { 'x-api-key': 'k-123' } });
    expect(ok.status).toBe(200);
    expect(ok.echo?.path).toBe('/orders');
    expect(ok.headers['x-served-by']).toBe('gatehouse');
    expect(ok.headers['x-app']).toBe('mobile');
    expect(ok.headers['x-internal']).toBeUndefined();
  });

  it('VerifyAPIKey: a non-ASCII key verifies sent as its UTF-8 bytes in a header, through devproxy', async () => {
    const utf8 = Buffer.from(INTL_KEY, 'utf8');
    const ok = await send(`${base}/keyed/orders`, { headers: { 'x-api-key': asHeaderBytes(utf8) } });
    expect(ok.status).toBe(200);
    expect(ok.headers['x-app']).toBe('mobile');
    // One byte short: not UTF-8 any more, read byte by byte, another key.
    const other = await send(`${base}/keyed/orders`, { headers: { 'x-api-key': asHeaderBytes(utf8.subarray(0, -1)) } });
    expect(other.status).toBe(401);
  });

  it('AccessControl: 403 for a denied X-Forwarded-For client, and for the peer address itself', async () => {
    const r = await send(`${base}/acl/x`, { headers: { 'x-forwarded-for': '203.0.113.9' } });
    expect(r.status).toBe(403);
    expect(errorCode(r.body)).toBe('accesscontrol.IPDeniedAccess');
    expect((await send(`${base}/acl/x`, { headers: { 'x-forwarded-for': '198.51.100.1' } })).status).toBe(200);
    expect((await send(`${base}/local-deny/x`)).status).toBe(403);
  });

  it('JSONThreatProtection: 400 for a too-deep body, the body passes through when within limits', async () => {
    const deep = await send(`${base}/json/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":{"b":{"c":{"d":1}}}}',
    });
    expect(deep.status).toBe(400);
    expect(errorCode(deep.body)).toBe('steps.jsonthreatprotection.ExecutionFailed');
    expect(deep.body).toContain('reason: ContainerDepthExceeded:');
    const fine = await send(`${base}/json/x`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"a":[1,2]}',
    });
    expect(fine.status).toBe(200);
    expect(fine.echo?.body).toBe('{"a":[1,2]}');
  });

  it('XMLThreatProtection: 400 for a too-deep document or a DOCTYPE', async () => {
    const xml = (body: string) =>
      send(`${base}/xml/x`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body });
    expect((await xml('<a><b><c><d/></c></b></a>')).status).toBe(400);
    expect((await xml('<!DOCTYPE a [<!ENTITY x "y">]><a>&x;</a>')).status).toBe(400);
    expect((await xml('<a><b/></a>')).status).toBe(200);
  });

  it('RegularExpressionProtection: 400 when a query parameter matches', async () => {
    expect((await send(`${base}/regex/x?q=${encodeURIComponent('SELECT name FROM users')}`)).status).toBe(400);
    expect((await send(`${base}/regex/x?q=shoes`)).status).toBe(200);
  });

  it('BasicAuthentication: encodes the Authorization header the upstream gets', async () => {
    const r = await send(`${base}/basic/x`);
    expect(r.echo?.headers.authorization).toBe(`Basic ${Buffer.from('alice:wonderland').toString('base64')}`);
  });

  it('CORS: answers a preflight at the gateway and adds the headers to actual responses', async () => {
    const pre = await send(`${base}/cors/x`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    expect(pre.status).toBe(200);
    expect(pre.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(pre.headers['x-upstream']).toBeUndefined();
    const actual = await send(`${base}/cors/x`, { headers: { origin: 'https://app.example.com' } });
    expect(actual.headers['access-control-allow-origin']).toBe('https://app.example.com');
    expect(actual.headers['x-upstream']).toBe('echo');
  });
});

describe('mediation', () => {
  it('ExtractVariables + AssignMessage: the extracted id reaches the upstream as a header', async () => {
    const r = await send(`${base}/extract/items/42`);
    expect(r.echo?.headers['x-item-id']).toBe('42');
  });

  it("AssignMessage add: the client's value and the added one both reach the upstream (MutationUtils::applyHeaderMutations reads the append flag)", async () => {
    const r = await send(`${base}/multi/x`, { headers: { 'x-tag': 'one' } });
    expect(r.echo?.headers['x-tag']).toBe('one, two');
  });

  it('AssignMessage path, verb, host and statusCode: :path, :method, host and :status mutations pass the compiled mutation rules (Checker::isAllowed, allow_all_routing)', async () => {
    const r = await send(`${base}/rewrite/x?q=1`);
    expect(r.echo?.path).toBe('/v2/items?q=1');
    expect(r.echo?.method).toBe('PUT');
    expect(r.echo?.headers.host).toBe('backend.internal');
    expect(r.status).toBe(201);
  });

  it('AssignMessage: a client value with CR LF is a gatehouse.RefusedChange fault, not an empty 500 (an x-envoy header is refused by the compiler)', async () => {
    const injected = await send(`${base}/note/x?note=${encodeURIComponent('a\r\nx-injected: 1')}`);
    expect(injected.status).toBe(500);
    expect(errorCode(injected.body)).toBe('gatehouse.RefusedChange');
    expect(injected.headers['x-upstream']).toBeUndefined();
    expect((await send(`${base}/note/x?note=plain`)).echo?.headers['x-note']).toBe('plain');
  });

  it('RaiseFault: the configured status and payload, never the upstream', async () => {
    const r = await send(`${base}/raise/x`);
    expect(r.status).toBe(418);
    expect(JSON.parse(r.body)).toEqual({ error: 'short and stout' });
    expect(r.headers['x-upstream']).toBeUndefined();
  });
});

describe('access log (docs/operations.md#access-logs)', () => {
  it('gatehouse dev prints one JSON line per request with proxy, app and fault code, and never the API key', async () => {
    // Only this test's requests: an earlier test's line may still arrive after `before` on a busy machine.
    const accessLines = () =>
      dev
        .output()
        .split('\n')
        .filter((l) => l.startsWith('{"') && l.includes('"response_flags"') && l.includes('"path":"/keyed/orders"'));
    const before = accessLines().length;
    expect((await send(`${base}/keyed/orders?apikey=k-123`, { headers: { 'x-api-key': 'k-123' } })).status).toBe(200);
    expect((await send(`${base}/keyed/orders`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    await until(dev, 'two access log lines', () => Promise.resolve(accessLines().length >= before + 2));
    const [ok, denied] = accessLines()
      .slice(before)
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(ok).toMatchObject({
      proxy: 'e2e/keyed',
      app: 'mobile',
      status: 200,
      path: '/keyed/orders',
      fault_code: null,
    });
    expect(denied).toMatchObject({ proxy: 'e2e/keyed', status: 401, fault_code: 'oauth.v2.InvalidApiKey' });
    // Every JSON line (access log, operator, extproc, devproxy); the start-up banner's example curl
    // uses the examples' demo key, which these manifests share.
    const leaking = dev
      .output()
      .split('\n')
      .filter((l) => l.startsWith('{') && l.includes('k-123'));
    expect(leaking).toEqual([]);
  });
});
