// Apigee bundles imported by `gatehouse import apigee` and served by `gatehouse dev`: requests behave
// as Apigee's documentation says the originals do. A VerifyAPIKey + Quota proxy (401 without a key,
// 200 with one, 429 past the quota, a FaultRule that marks the quota fault), and a RaiseFault +
// AssignMessage proxy (a conditional flow answers 403 with the policy's payload; other requests reach
// the upstream with the header AssignMessage set, and come back with the one it set on the response),
// a JSONToXML + XSL proxy whose stylesheet the importer read from the bundle's resources, and a
// KeyValueMapOperations proxy (a put read back by later requests), and a VerifyJWT proxy.
// The products, apps and keys are not in Apigee bundles (they are organisation data): the test writes them.
import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { CompactSign } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importBundles, type ImportReport } from '../../operator/src/importer/run.ts';
import { send } from './harness.ts';
import { devPorts, gatehouse, until, type Command } from './processes.ts';

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

function writeTree(dir: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
}

const keyQuotaBundle = (upstream: number): Record<string, string> => ({
  'apiproxy/Orders-API.xml': '<APIProxy name="Orders-API"/>',
  'apiproxy/policies/Verify-API-Key.xml':
    '<VerifyAPIKey name="Verify-API-Key"><APIKey ref="request.header.x-api-key"/></VerifyAPIKey>',
  'apiproxy/policies/Quota-Per-App.xml': `<Quota name="Quota-Per-App" type="rollingwindow">
  <Allow count="2"/><Interval>1</Interval><TimeUnit>hour</TimeUnit>
  <Identifier ref="client_id"/><Distributed>true</Distributed>
</Quota>`,
  'apiproxy/policies/AM-Quota-Fault.xml': `<AssignMessage name="AM-Quota-Fault">
  <Set><Headers><Header name="x-quota-handled">true</Header></Headers></Set>
  <AssignTo createNew="false" type="response"/>
</AssignMessage>`,
  // Converted with its script inline (resources/jsc), run in the sandbox on every request.
  'apiproxy/policies/JS-Log.xml': `<Javascript name="JS-Log" timeLimit="200">
  <Properties><Property name="prefix">seen</Property></Properties>
  <ResourceURL>jsc://log.js</ResourceURL>
</Javascript>`,
  'apiproxy/resources/jsc/log.js':
    "context.setVariable('request.header.x-js-log', properties.prefix + ' ' + request.method + ' ' + context.getVariable('proxy.pathsuffix'));",
  'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <FaultRules>
    <FaultRule name="quota">
      <Step><Name>AM-Quota-Fault</Name></Step>
      <Condition>fault.name = "QuotaViolation"</Condition>
    </FaultRule>
  </FaultRules>
  <PreFlow name="PreFlow">
    <Request>
      <Step><Name>Verify-API-Key</Name></Step>
      <Step><Name>Quota-Per-App</Name></Step>
      <Step><Name>JS-Log</Name></Step>
    </Request>
  </PreFlow>
  <HTTPProxyConnection><BasePath>/orders/v1</BasePath><VirtualHost>default</VirtualHost></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
  'apiproxy/targets/default.xml': `<TargetEndpoint name="default">
  <HTTPTargetConnection><URL>http://127.0.0.1:${upstream}</URL></HTTPTargetConnection>
</TargetEndpoint>`,
});

const mediationBundle = (upstream: number): Record<string, string> => ({
  'apiproxy/catalog.xml': '<APIProxy name="catalog"/>',
  'apiproxy/policies/RF-Admin-Blocked.xml': `<RaiseFault name="RF-Admin-Blocked">
  <FaultResponse>
    <Set>
      <Headers><Header name="x-blocked-path">{proxy.pathsuffix}</Header></Headers>
      <Payload contentType="application/json">{"error":"admin is closed"}</Payload>
      <StatusCode>403</StatusCode>
      <ReasonPhrase>Forbidden</ReasonPhrase>
    </Set>
  </FaultResponse>
</RaiseFault>`,
  'apiproxy/policies/AM-To-Backend.xml': `<AssignMessage name="AM-To-Backend">
  <Add><Headers><Header name="x-from-apigee">{request.verb}</Header></Headers></Add>
  <Remove><QueryParams><QueryParam name="debug"/></QueryParams></Remove>
  <AssignTo createNew="false" type="request"/>
</AssignMessage>`,
  'apiproxy/policies/AM-Stamp.xml': `<AssignMessage name="AM-Stamp">
  <Set><Headers><Header name="x-served-by">gatehouse</Header></Headers></Set>
  <Remove><Headers><Header name="x-internal"/></Headers></Remove>
</AssignMessage>`,
  'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <Flows>
    <Flow name="admin">
      <Condition>proxy.pathsuffix MatchesPath "/admin/**"</Condition>
      <Request><Step><Name>RF-Admin-Blocked</Name></Step></Request>
    </Flow>
  </Flows>
  <PostFlow name="PostFlow">
    <Response><Step><Name>AM-Stamp</Name></Step></Response>
  </PostFlow>
  <HTTPProxyConnection><BasePath>/catalog</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
  'apiproxy/targets/default.xml': `<TargetEndpoint name="default">
  <PreFlow name="PreFlow"><Request><Step><Name>AM-To-Backend</Name></Step></Request></PreFlow>
  <HTTPTargetConnection><URL>http://127.0.0.1:${upstream}/v2</URL></HTTPTargetConnection>
</TargetEndpoint>`,
});

// JSON to XML, then an XSL stylesheet from the bundle's resources (put inline by the importer) with a
// parameter from a header: the upstream receives the stylesheet's text output.
const xmlBundle = (upstream: number): Record<string, string> => ({
  'apiproxy/quotes.xml': '<APIProxy name="quotes"/>',
  'apiproxy/policies/JSON-to-XML-1.xml': `<JSONToXML name="JSON-to-XML-1">
  <Source>request</Source>
  <OutputVariable>request</OutputVariable>
  <Options><ObjectRootElementName>quote</ObjectRootElementName></Options>
</JSONToXML>`,
  'apiproxy/policies/XSL-Summary.xml': `<XSL name="XSL-Summary">
  <Source>request</Source>
  <ResourceURL>xsl://summary.xsl</ResourceURL>
  <Parameters ignoreUnresolvedVariables="false"><Parameter name="caller" ref="request.header.x-caller"/></Parameters>
</XSL>`,
  'apiproxy/resources/xsl/summary.xsl': `<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">
  <xsl:output method="text"/>
  <xsl:param name="caller"/>
  <xsl:template match="/">caller=<xsl:value-of select="$caller"/>;symbol=<xsl:value-of select="/quote/symbol"/></xsl:template>
</xsl:stylesheet>`,
  'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <PreFlow name="PreFlow">
    <Request>
      <Step><Name>JSON-to-XML-1</Name></Step>
      <Step><Name>XSL-Summary</Name></Step>
    </Request>
  </PreFlow>
  <HTTPProxyConnection><BasePath>/quotes</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
  'apiproxy/targets/default.xml': `<TargetEndpoint name="default">
  <HTTPTargetConnection><URL>http://127.0.0.1:${upstream}</URL></HTTPTargetConnection>
</TargetEndpoint>`,
});

// KeyValueMapOperations: a POST puts the x-greeting header's value into a map, every request reads it
// back into a variable that AssignMessage sends upstream (Apigee's KVM reference: Put override, Get
// assignTo). No KeyValueMap object: the map starts empty, which the report says.
const kvmBundle = (upstream: number): Record<string, string> => ({
  'apiproxy/settings.xml': '<APIProxy name="settings"/>',
  'apiproxy/policies/KVM-Put.xml': `<KeyValueMapOperations name="KVM-Put" mapIdentifier="greetings">
  <Scope>environment</Scope>
  <Put override="true"><Key><Parameter>greeting</Parameter></Key><Value ref="request.header.x-greeting"/></Put>
</KeyValueMapOperations>`,
  'apiproxy/policies/KVM-Get.xml': `<KeyValueMapOperations name="KVM-Get" mapIdentifier="greetings">
  <Scope>environment</Scope>
  <ExpiryTimeInSecs>0</ExpiryTimeInSecs>
  <Get assignTo="greeting"><Key><Parameter>greeting</Parameter></Key></Get>
</KeyValueMapOperations>`,
  'apiproxy/policies/AM-Greeting.xml': `<AssignMessage name="AM-Greeting">
  <Set><Headers><Header name="x-stored-greeting">{greeting}</Header></Headers></Set>
  <IgnoreUnresolvedVariables>true</IgnoreUnresolvedVariables>
</AssignMessage>`,
  'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <PreFlow name="PreFlow">
    <Request>
      <Step><Name>KVM-Put</Name><Condition>request.verb = "POST"</Condition></Step>
      <Step><Name>KVM-Get</Name></Step>
      <Step><Name>AM-Greeting</Name></Step>
    </Request>
  </PreFlow>
  <HTTPProxyConnection><BasePath>/settings</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
  'apiproxy/targets/default.xml': `<TargetEndpoint name="default">
  <HTTPTargetConnection><URL>http://127.0.0.1:${upstream}</URL></HTTPTargetConnection>
</TargetEndpoint>`,
});

// VerifyJWT with the issuer's public key written in the policy (a public key is no secret, so the
// importer keeps it): a token it signed passes, one signed by another key gets Apigee's InvalidToken.
const issuerKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const otherKey = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const jwtBundle = (upstream: number): Record<string, string> => ({
  'apiproxy/tokens.xml': '<APIProxy name="tokens"/>',
  'apiproxy/policies/JWT-Verify.xml': `<VerifyJWT name="JWT-Verify">
  <Algorithm>ES256</Algorithm>
  <Source>request.header.authorization</Source>
  <PublicKey><Value>${issuerKey.publicKey.export({ type: 'spki', format: 'pem' }).toString()}</Value></PublicKey>
  <Issuer>urn://apigee-edge-JWT-policy-test</Issuer>
</VerifyJWT>`,
  'apiproxy/proxies/default.xml': `<ProxyEndpoint name="default">
  <PreFlow name="PreFlow"><Request><Step><Name>JWT-Verify</Name></Step></Request></PreFlow>
  <HTTPProxyConnection><BasePath>/tokens</BasePath></HTTPProxyConnection>
  <RouteRule name="default"><TargetEndpoint>default</TargetEndpoint></RouteRule>
</ProxyEndpoint>`,
  'apiproxy/targets/default.xml': `<TargetEndpoint name="default">
  <HTTPTargetConnection><URL>http://127.0.0.1:${upstream}</URL></HTTPTargetConnection>
</TargetEndpoint>`,
});

async function es256(key: KeyObject): Promise<string> {
  const iat = Math.floor(Date.now() / 1000);
  const claims = { iss: 'urn://apigee-edge-JWT-policy-test', sub: 'alice', iat, exp: iat + 3600 };
  return new CompactSign(Buffer.from(JSON.stringify(claims))).setProtectedHeader({ alg: 'ES256' }).sign(key);
}

// What an Apigee organisation holds besides its bundles: the product, the app and its key.
const organisation = `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: orders, namespace: apigee}
spec: {proxies: [orders-api], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: mobile, namespace: apigee}
spec:
  developer: {email: dev@example.com}
  products: [{name: orders, status: Approved}]
  credentials: [{secretRef: {name: mobile-key}, status: Approved}]
---
apiVersion: v1
kind: Secret
metadata: {name: mobile-key, namespace: apigee}
stringData: {consumerKey: k-apigee, consumerSecret: s-apigee}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 5s
`;

let dev: Command;
let dir: string;
let base: string;
let report: ImportReport;

beforeAll(async () => {
  const { port, upstreamPort, args } = await devPorts();
  dir = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-import-'));
  writeTree(join(dir, 'bundles', 'orders'), keyQuotaBundle(upstreamPort));
  writeTree(join(dir, 'bundles', 'catalog'), mediationBundle(upstreamPort));
  writeTree(join(dir, 'bundles', 'quotes'), xmlBundle(upstreamPort));
  writeTree(join(dir, 'bundles', 'settings'), kvmBundle(upstreamPort));
  writeTree(join(dir, 'bundles', 'tokens'), jwtBundle(upstreamPort));
  report = importBundles({ paths: [join(dir, 'bundles')], output: join(dir, 'manifests'), namespace: 'apigee' });
  writeFileSync(join(dir, 'manifests', 'organisation.yaml'), organisation);
  dev = gatehouse(['dev', '-f', join(dir, 'manifests'), ...args]);
  base = `http://127.0.0.1:${port}`;
  await until(
    dev,
    'the imported proxies to serve',
    async () => (await send(`${base}/orders/v1/x`)).status === 401,
    60_000,
  );
}, 90_000);

afterAll(async () => {
  await dev?.stop();
  rmSync(dir, { recursive: true, force: true });
});

describe('imported Apigee bundles served by gatehouse dev', () => {
  it('both bundles convert; the virtual host is in the report', () => {
    expect(report.bundles.map((b) => [b.name, b.error, b.output !== undefined])).toEqual([
      ['catalog', undefined, true],
      ['Orders-API', undefined, true],
      ['quotes', undefined, true],
      ['settings', undefined, true],
      ['tokens', undefined, true],
    ]);
    expect(report.bundles[4]!.unsupported).toEqual([]);
    const orders = report.bundles[1]!;
    expect(orders.unsupported.map((u) => `${u.file} ${u.xpath}`)).toEqual([
      'apiproxy/proxies/default.xml /ProxyEndpoint/HTTPProxyConnection/VirtualHost',
    ]);
    expect(report.bundles[0]!.unsupported).toEqual([]);
    expect(report.bundles[2]!.unsupported).toEqual([]);
    expect(report.bundles[3]!.unsupported.map((u) => `${u.file} ${u.xpath}`)).toEqual([
      'apiproxy/policies/KVM-Get.xml /KeyValueMapOperations',
    ]);
  });

  it('VerifyAPIKey + Quota + JavaScript: 401 without a key, 200 with it (the script set a header), 429 past the quota with the FaultRule applied', async () => {
    const noKey = await send(`${base}/orders/v1/items`);
    expect(noKey.status).toBe(401);
    expect(errorCode(noKey.body)).toBe('oauth.v2.FailedToResolveAPIKey');
    expect((await send(`${base}/orders/v1/items`, { headers: { 'x-api-key': 'wrong' } })).status).toBe(401);
    const headers = { 'x-api-key': 'k-apigee' };
    for (let i = 0; i < 2; i += 1) {
      const ok = await send(`${base}/orders/v1/items`, { headers });
      expect(ok.status).toBe(200);
      expect(ok.echo?.path).toBe('/items');
      expect(ok.echo?.headers['x-js-log']).toBe('seen GET /items');
    }
    const over = await send(`${base}/orders/v1/items`, { headers });
    expect(over.status).toBe(429);
    expect(errorCode(over.body)).toBe('policies.ratelimit.QuotaViolation');
    expect(over.headers['x-quota-handled']).toBe('true');
  });

  it('RaiseFault in a conditional flow answers 403 with its payload; AssignMessage mediates the rest', async () => {
    const blocked = await send(`${base}/catalog/admin/users`);
    expect(blocked.status).toBe(403);
    expect(JSON.parse(blocked.body)).toEqual({ error: 'admin is closed' });
    expect(blocked.headers['content-type']).toBe('application/json');
    expect(blocked.headers['x-blocked-path']).toBe('/admin/users');

    const ok = await send(`${base}/catalog/books?debug=1&page=2`, { method: 'POST', body: '{}' });
    expect(ok.status).toBe(200);
    expect(ok.echo?.path).toBe('/v2/books?page=2');
    expect(ok.echo?.headers['x-from-apigee']).toBe('POST');
    expect(ok.headers['x-served-by']).toBe('gatehouse');
  });

  it('JSONToXML then XSL (stylesheet from the bundle): the upstream gets the transform of the JSON body', async () => {
    const ok = await send(`${base}/quotes/latest`, {
      method: 'POST',
      body: '{"symbol":"GOOG","price":101.5}',
      headers: { 'content-type': 'application/json', 'x-caller': 'mobile' },
    });
    expect(ok.status).toBe(200);
    expect(ok.echo?.body).toBe('caller=mobile;symbol=GOOG');
    // ignoreUnresolvedVariables false: without the header the parameter's ref does not resolve.
    const unresolved = await send(`${base}/quotes/latest`, {
      method: 'POST',
      body: '{"symbol":"GOOG","price":101.5}',
      headers: { 'content-type': 'application/json' },
    });
    expect(unresolved.status).toBe(500);
    expect(errorCode(unresolved.body)).toBe('steps.xsl.XSLEvaluationFailed');
  });

  it('KeyValueMapOperations: a POST puts a value that later requests read back', async () => {
    const put = await send(`${base}/settings/a`, { method: 'POST', body: '', headers: { 'x-greeting': 'hello' } });
    expect(put.status).toBe(200);
    expect(put.echo?.headers['x-stored-greeting']).toBe('hello');
    const get = await send(`${base}/settings/b`);
    expect(get.status).toBe(200);
    expect(get.echo?.headers['x-stored-greeting']).toBe('hello');
  });

  it('VerifyJWT (public key from the policy): a token the issuer signed passes, a forged one is refused', async () => {
    const ok = await send(`${base}/tokens/a`, {
      headers: { authorization: `Bearer ${await es256(issuerKey.privateKey)}` },
    });
    expect(ok.status).toBe(200);
    const forged = await send(`${base}/tokens/a`, {
      headers: { authorization: `Bearer ${await es256(otherKey.privateKey)}` },
    });
    expect([forged.status, errorCode(forged.body)]).toEqual([401, 'steps.jwt.InvalidToken']);
  });
});
