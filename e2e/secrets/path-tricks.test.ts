// Attack: reach what a path rule forbids by spelling the path another way: dot segments with
// parameters (`..;/`), escaped dots (`%2e%2e`), path parameters (`;x=1`), doubled slashes, escaped
// slashes and backslashes, case variants. Through devproxy (Envoy's HttpConnectionManager with the
// compiled normalize_path, merge_slashes and escaped-slash settings) and a real extproc: the route,
// extproc's proxy.pathsuffix, the ApiProduct resource match, a MatchesPath flow condition and the
// upstream must all see one and the same path, so none of these gets past a base path, a product
// that covers only /public/**, or a flow that denies /admin/**.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from '../dev/harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };

/** A proxy with the API key check, a flow that denies /admin/** and the suffix extproc saw echoed back. */
const keyedProxy = (name: string, upstreamPort: number) => `${proxyYaml({
  name,
  basePath: `/${name}`,
  upstreamPort,
  flows: `flows:
    preFlow: {request: [{policy: key}], response: [{policy: seen}]}
    conditionalFlows:
      - name: admin
        condition: 'proxy.pathsuffix MatchesPath "/admin/**"'
        request: [{policy: deny}]`,
})}---
`;

const manifests = (upstreamPort: number) => `${keyedProxy('shop', upstreamPort)}${keyedProxy('flowed', upstreamPort)}
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: key, namespace: test}
spec: {type: VerifyAPIKey, verifyAPIKey: {apiKey: {ref: request.header.x-api-key}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: deny, namespace: test}
spec: {type: RaiseFault, raiseFault: {statusCode: 403}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: seen, namespace: test}
spec: {type: AssignMessage, assignMessage: {assignTo: response, set: {headers: {x-seen-suffix: "{proxy.pathsuffix}"}}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: public, namespace: test}
spec: {proxies: [shop], resources: ["/public/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: all, namespace: test}
spec: {proxies: [flowed], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: app, namespace: test}
spec:
  developer: {email: dev@example.com}
  products: [{name: public, status: Approved}, {name: all, status: Approved}]
  credentials: [{secretRef: {name: app-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: app-key, namespace: test}
stringData: {consumerKey: k-1, consumerSecret: s-1}
---
${proxyYaml({ name: 'open', basePath: '/open', upstreamPort })}---
${proxyYaml({ name: 'private', basePath: '/private', upstreamPort, flows: 'flows: {preFlow: {request: [{policy: key}]}}' })}`;

beforeAll(async () => {
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(manifests(echo.port));
  await pathReady(stack);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

const withKey = { headers: { 'x-api-key': 'k-1' } };

/**
 * Segments of a path with `;` parameters removed, as servlet-style upstreams read them. Case is kept:
 * routes, MatchesPath, product resources and the upstream path are all case-sensitive, so `/ADMIN`
 * is another path everywhere (an upstream that folds case needs conditions that do too).
 */
const lenientSegments = (path: string) =>
  path
    .split('?')[0]!
    .split('/')
    .map((s) => s.split(';')[0]!)
    .filter((s) => s !== '' && s !== '.');

describe('one path for the route, extproc and the upstream', () => {
  it('sanity: the product covers /public only, the flow denies /admin, the private proxy wants its key', async () => {
    const ok = await send(`${stack.baseUrl()}/shop/public/a`, withKey);
    expect(ok.status).toBe(200);
    expect(ok.echo?.path).toBe('/public/a');
    expect(ok.headers['x-seen-suffix']).toBe('/public/a');
    expect((await send(`${stack.baseUrl()}/shop/other`, withKey)).status).toBe(401);
    expect((await send(`${stack.baseUrl()}/flowed/other`, withKey)).status).toBe(200);
    expect((await send(`${stack.baseUrl()}/flowed/admin/users`, withKey)).status).toBe(403);
    expect((await send(`${stack.baseUrl()}/private/x`)).status).toBe(401);
  });

  // Each spelling of /admin/users from under /public either is refused at the edge (400), lands where
  // the proxy's own checks refuse it (401 outside the product, 403 by the flow) or on no route (404),
  // or is served with extproc and the upstream agreeing on the path, which is then not under /admin,
  // even as a lenient upstream reads it (parameters stripped, `..` resolved).
  const spellings = [
    '/public/..;/admin/users',
    '/public/..;x=1/admin/users',
    '/public/%2e%2e/admin/users',
    '/public/%2E%2e/admin/users',
    '/public/.%2e/admin/users',
    '/public/../admin/users',
    '/admin;x=1/users',
    '/admin;/users',
    '//admin/users',
    '/public//..//admin/users',
    '/public/..%2fadmin/users',
    '/public/..%2Fadmin/users',
    '/public/..%5cadmin/users',
    '/public\\..\\admin/users',
    '/ADMIN/users',
    '/Admin/users',
    '/%61dmin/users',
    '/public/./../admin/users',
    '/public;x=1/../admin/users',
    '/public/.;/admin/users',
  ];
  const attacks = spellings.flatMap((suffix) => [`/shop${suffix}`, `/flowed${suffix}`]);

  it.each(attacks)('%s reaches /admin neither past the product nor past the flow', async (path) => {
    const r = await send(`${stack.baseUrl()}${path}`, withKey);
    expect([200, 400, 401, 403, 404], `${path}: ${r.status} ${r.body}`).toContain(r.status);
    if (r.status !== 200) {
      expect(r.echo).toBeUndefined();
      return;
    }
    // Served: what extproc matched is exactly what the upstream got, and it is not /admin.
    expect(r.headers['x-seen-suffix']).toBe(r.echo?.path);
    expect(lenientSegments(r.echo!.path)[0]).not.toBe('admin');
    expect(lenientSegments(r.echo!.path)).not.toContain('..');
  });

  const baseAttacks = [
    '/open/..;/private/x',
    '/open/%2e%2e/private/x',
    '/open/../private/x',
    '//open/../private/x',
    '/open/..%2fprivate/x',
    '/open;x=1/../private/x',
    '/OPEN/../private/x',
    '/open/.;/../private/x',
  ];

  it.each(baseAttacks)('%s never reaches the private proxy without its key', async (path) => {
    const r = await send(`${stack.baseUrl()}${path}`);
    expect([200, 400, 401, 404], `${path}: ${r.status} ${r.body}`).toContain(r.status);
    if (r.status === 200) expect(lenientSegments(r.echo!.path)).not.toContain('..');
  });
});
