// ServiceCallout with the real egress client against HTTP and HTTPS servers started here
// (certificates issued here, e2e/tls/pki.ts): the request built by AssignMessage's operations, the
// response in a message variable, Apigee's variables and faults, TLS from Secrets in the snapshot,
// the DataPlane's address rules from the snapshot, fire and forget, and the config checks.
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from '../../../../e2e/tls/pki.ts';
import {
  isSuccessCode,
  serviceCallout,
  type ServiceCalloutConfig,
} from '../../../../protos/policies/extension/service-callout.ts';
import { EgressClient } from '../../egress/client.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { createResponseMessage } from '../../flow/message.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import type { ResponseMessage } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { serviceCalloutPolicy } from './service-callout.ts';

const meta = { namespace: 'shop', name: 'SC-1' };
const loopbackPlane = { dataPlanes: [{ namespace: 'shop', name: 'dp', calloutPrivateNetworks: ['127.0.0.0/8'] }] };

let ca: TestCa;
let otherCa: TestCa;
let clientLeaf: TestLeaf;
let httpPort: number;
let httpsPort: number;
const servers: Array<Server | HttpsServer> = [];
const egress = new EgressClient();
/** Requests to /hold wait here until the test lets them go. */
const held: ServerResponse[] = [];
const seen: Array<{ url: string; method: string; headers: IncomingMessage['headers']; body: string }> = [];

async function listen(server: Server | HttpsServer): Promise<number> {
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

function handler(req: IncomingMessage, res: ServerResponse) {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    seen.push({
      url: req.url ?? '',
      method: req.method ?? '',
      headers: req.headers,
      body: Buffer.concat(chunks).toString(),
    });
    if (req.url?.startsWith('/hold')) return void held.push(res);
    if (req.url?.startsWith('/status/')) {
      res.statusCode = Number(req.url.slice(8));
      return res.end('{"error":"upstream says no"}');
    }
    res.setHeader('content-type', 'application/json');
    res.setHeader('x-upstream', 'yes');
    const cn =
      'getPeerCertificate' in req.socket ? (req.socket as TLSSocket).getPeerCertificate()?.subject?.CN : undefined;
    res.end(JSON.stringify({ url: req.url, method: req.method, client: cn ?? null }));
  });
}

beforeAll(async () => {
  ca = await createCa('callout-ca');
  otherCa = await createCa('other-ca');
  const leaf = await issueLeaf(ca, 'localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  clientLeaf = await issueLeaf(ca, 'gateway');
  httpPort = await listen(createHttpServer(handler));
  httpsPort = await listen(
    createHttpsServer(
      { cert: leaf.cert, key: leaf.key, ca: ca.cert, requestCert: true, rejectUnauthorized: false },
      handler,
    ),
  );
});

afterAll(async () => {
  for (const res of held) res.end();
  egress.close();
  for (const s of servers) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

function context(opts: PolicyContextOptions = {}) {
  return makePolicyContext({ ...opts, egress, snapshot: { ...loopbackPlane, ...opts.snapshot } });
}

async function faultOf(promise: unknown): Promise<PolicyFault> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
  throw new Error('expected a fault');
}

type More = Partial<Omit<ServiceCalloutConfig, 'httpTargetConnection'>> & {
  httpTargetConnection?: Partial<ServiceCalloutConfig['httpTargetConnection']>;
};
const http = (path: string, more: More = {}): ServiceCalloutConfig => ({
  response: 'calloutResponse',
  ...more,
  httpTargetConnection: { ...more.httpTargetConnection, url: `http://127.0.0.1:${httpPort}${path}` },
});

describe('ServiceCallout: request and response', () => {
  it('sends a new request shaped by Set, keeps the response in the named variable, sets Apigee variables', async () => {
    const step = serviceCalloutPolicy.create(
      http('/lookup', {
        request: {
          variable: 'myRequest',
          set: {
            verb: 'POST',
            headers: { 'x-customer': '{request.header.x-customer}' },
            queryParams: { q: '{request.queryparam.q}' },
            payload: { contentType: 'application/json', content: '{"id":"{request.header.x-customer}"}' },
          },
        },
      }),
      meta,
    );
    const ctx = context({ path: '/orders?q=abc', headers: { 'x-customer': 'c"42' } });
    await step(ctx);
    const sent = seen.at(-1)!;
    expect(sent).toMatchObject({ url: '/lookup?q=abc', method: 'POST', body: '{"id":"c\\"42"}' });
    expect(sent.headers['x-customer']).toBe('c"42');
    expect(ctx.variables.get('calloutResponse.status.code')).toBe(200);
    expect(ctx.variables.get('calloutResponse.header.x-upstream')).toBe('yes');
    expect(JSON.parse(ctx.variables.getString('calloutResponse.content')!)).toMatchObject({ method: 'POST' });
    expect(ctx.variables.get('servicecallout.SC-1.target.url')).toBe(`http://127.0.0.1:${httpPort}/lookup?q=abc`);
    expect(ctx.variables.get('servicecallout.requesturi')).toBe('/lookup?q=abc');
    expect(ctx.variables.message('myRequest')).toBeDefined();
    // The client's own request is untouched.
    expect(ctx.request.method).toBe('GET');
  });

  it('sends a message an earlier AssignMessage made, appending its path; clearPayload drops its body once sent', async () => {
    const ctx = context();
    const step = serviceCalloutPolicy.create(
      http('/base', { request: { variable: 'made', clearPayload: true, set: { path: '/v1/items' } } }),
      meta,
    );
    // As AssignMessage createNew would leave it:
    await serviceCalloutPolicy.create(http('/warm', { request: { variable: 'made' } }), meta)(ctx);
    ctx.variables.message('made')!.body.setText('payload', 'text/plain');
    await step(ctx);
    expect(seen.at(-1)).toMatchObject({ url: '/base/v1/items', body: 'payload' });
    expect(ctx.variables.message('made')!.body.text()).toBe('');
  });

  it('faults ExecutionFailed on a status outside success.codes, keeping the response for fault rules', async () => {
    const ctx = context();
    const f = await faultOf(serviceCalloutPolicy.create(http('/status/401'), meta)(ctx));
    expect(f).toMatchObject({ status: 500, errorCode: 'steps.servicecallout.ExecutionFailed' });
    expect(f.message).toBe('Execution of ServiceCallout SC-1 failed. Reason: ResponseCode 401 is treated as error');
    expect(ctx.variables.get('calloutResponse.status.code')).toBe(401);
    const allowed = serviceCalloutPolicy.create(
      http('/status/404', { httpTargetConnection: { successCodes: '2xx, 404' } }),
      meta,
    );
    const ctx2 = context();
    await allowed(ctx2);
    expect(ctx2.variables.get('calloutResponse.status.code')).toBe(404);
  });

  it('success.codes: classes and codes', () => {
    expect(isSuccessCode(302)).toBe(true);
    expect(isSuccessCode(404)).toBe(false);
    expect(isSuccessCode(404, '2xx,404')).toBe(true);
    expect(isSuccessCode(500, '2xx, 4xx')).toBe(false);
  });

  it('faults RequestVariableNotMessageType and RequestVariableNotRequestMessageType', async () => {
    const step = serviceCalloutPolicy.create(http('/', { request: { variable: 'v' } }), meta);
    const f1 = await faultOf(step(context({ variables: { v: 'a string' } })));
    expect(f1).toMatchObject({ errorCode: 'steps.servicecallout.RequestVariableNotMessageType', status: 500 });
    expect(f1.message).toBe('ServiceCallout[SC-1]: request variable v value is not of type Message');
    const response: ResponseMessage = createResponseMessage({ status: 200, headers: {}, body: Buffer.alloc(0) });
    const f2 = await faultOf(step(context({ variables: { v: response } })));
    expect(f2.errorCode).toBe('steps.servicecallout.RequestVariableNotRequestMessageType');
  });

  it('with ignoreUnresolvedVariables false, an unset variable is ExecutionFailed and nothing is sent', async () => {
    const before = seen.length;
    const step = serviceCalloutPolicy.create(
      http('/', { request: { ignoreUnresolvedVariables: false, set: { headers: { 'x-a': '{nope}' } } } }),
      meta,
    );
    const f = await faultOf(step(context()));
    expect(f.errorCode).toBe('steps.servicecallout.ExecutionFailed');
    expect(f.message).toContain('unable to resolve variable nope');
    expect(seen.length).toBe(before);
  });

  it('times out with ExecutionFailed, naming neither the URL nor the address', async () => {
    const step = serviceCalloutPolicy.create(http('/hold/timeout', { timeout: 150 }), meta);
    const f = await faultOf(step(context()));
    expect(f.errorCode).toBe('steps.servicecallout.ExecutionFailed');
    expect(f.message).toBe('Execution of ServiceCallout SC-1 failed. Reason: timeout occurred');
  });
});

describe('ServiceCallout: where it may connect (the DataPlane in the snapshot)', () => {
  it('refuses a private address the DataPlane does not name, and metadata ones', async () => {
    const step = serviceCalloutPolicy.create(http('/'), meta);
    const f = await faultOf(step(makePolicyContext({ egress })));
    expect(f.message).toBe('Execution of ServiceCallout SC-1 failed. Reason: the target address is not allowed');
    const metadata = serviceCalloutPolicy.create(
      { response: 'r', httpTargetConnection: { url: 'http://{target.host}/latest/meta-data/' } },
      meta,
    );
    const f2 = await faultOf(metadata(context({ variables: { 'target.host': '169.254.169.254' } })));
    expect(f2.message).toContain('the target address is not allowed');
  });
});

describe('ServiceCallout: a Service target (Apigee LoadBalancer and Path)', () => {
  // Every name resolves to loopback here, as a Service name resolves to its ClusterIP in a cluster:
  // only the configured Service's name may use it (the DataPlane names no private network).
  const svcEgress = new EgressClient({
    lookup: ((_host: string, _o: unknown, cb: (e: null, a: Array<{ address: string; family: number }>) => void) =>
      cb(null, [{ address: '127.0.0.1', family: 4 }])) as never,
  });
  afterAll(() => svcEgress.close());
  const svc = (path: string | undefined, more: More = {}): ServiceCalloutConfig => ({
    response: 'calloutResponse',
    ...more,
    httpTargetConnection: {
      service: { name: 'orders', port: httpPort },
      ...(path === undefined ? {} : { path }),
    },
  });

  it('calls name.namespace.svc:port with the path template expanded, its private address allowed for it alone', async () => {
    const step = serviceCalloutPolicy.create(svc('/v1/orders/{request.header.x-id}'), meta);
    const ctx = makePolicyContext({ egress: svcEgress, path: '/in?q=1', headers: { 'x-id': '42' } });
    await step(ctx);
    expect(seen.at(-1)!.url).toBe('/v1/orders/42');
    expect(seen.at(-1)!.headers.host).toBe(`orders.shop.svc:${httpPort}`);
    expect(ctx.variables.get('calloutResponse.status.code')).toBe(200);
    expect(ctx.variables.get('servicecallout.SC-1.target.url')).toBe(`http://orders.shop.svc:${httpPort}/v1/orders/42`);
    // The same loopback address under a URL the config does not pin is refused.
    const byUrl = serviceCalloutPolicy.create(
      { response: 'r', httpTargetConnection: { url: `http://orders.shop.svc.evil.test:${httpPort}/` } },
      meta,
    );
    const f = await faultOf(byUrl(makePolicyContext({ egress: svcEgress })));
    expect(f.message).toContain('the target address is not allowed');
  });

  it('a hostile path value cannot move the call to another host', async () => {
    const step = serviceCalloutPolicy.create(svc('/{request.header.x-path}'), meta);
    const before = seen.length;
    for (const hostile of [
      '/evil.test/x',
      '@evil.test',
      'x@evil.test/x',
      'http://evil.test/',
      '\\evil.test/',
      'a/../..//evil.test',
      'ok\u0000evil',
    ]) {
      const f = await faultOf(step(makePolicyContext({ egress: svcEgress, headers: { 'x-path': hostile } })));
      expect(f.message, hostile).toBe('Execution of ServiceCallout SC-1 failed. Reason: the URL is not valid');
    }
    expect(seen.length).toBe(before);
    await step(makePolicyContext({ egress: svcEgress, headers: { 'x-path': 'a/../b' } }));
    expect(seen.at(-1)!.url).toBe('/b');
  });

  it('without a path, the request goes to the Service root', async () => {
    const step = serviceCalloutPolicy.create(svc(undefined), meta);
    await step(makePolicyContext({ egress: svcEgress }));
    expect(seen.at(-1)!.url).toBe('/');
  });
});

describe('ServiceCallout: TLS from Secrets', () => {
  const tlsConfig = (trust: string, clientAuth: boolean): ServiceCalloutConfig => ({
    response: 'r',
    httpTargetConnection: {
      url: `https://localhost:${httpsPort}/secure`,
      sslInfo: {
        enabled: true,
        trustStore: { secretRef: { name: trust, key: 'ca.crt' } },
        ...(clientAuth
          ? {
              clientAuthEnabled: true,
              keyStore: {
                certificate: { secretRef: { name: 'client-tls', key: 'tls.crt' } },
                key: { secretRef: { name: 'client-tls', key: 'tls.key' } },
              },
            }
          : {}),
      },
    },
  });
  const secrets = () => ({
    'shop/callout-ca/ca.crt': ca.cert,
    'shop/other-ca/ca.crt': otherCa.cert,
    'shop/client-tls/tls.crt': clientLeaf.cert,
    'shop/client-tls/tls.key': clientLeaf.key,
  });

  it('verifies the server against the CA from a Secret and presents the client certificate from another', async () => {
    const ctx = context({ snapshot: { policySecrets: secrets() } });
    await serviceCalloutPolicy.create(tlsConfig('callout-ca', true), meta)(ctx);
    expect(JSON.parse(ctx.variables.getString('r.content')!)).toMatchObject({ client: 'gateway' });
  });

  it("never reads another namespace's Secret: the reference is always the policy's namespace", async () => {
    const elsewhere = { 'other/callout-ca/ca.crt': ca.cert };
    const f = await faultOf(
      serviceCalloutPolicy.create(
        tlsConfig('callout-ca', false),
        meta,
      )(context({ snapshot: { policySecrets: elsewhere } })),
    );
    expect(f.message).toContain('the trust store is not available');
  });

  it('a server signed by another CA is ExecutionFailed; a Secret missing from the snapshot too', async () => {
    const wrong = await faultOf(
      serviceCalloutPolicy.create(
        tlsConfig('other-ca', false),
        meta,
      )(context({ snapshot: { policySecrets: secrets() } })),
    );
    expect(wrong.message).toBe('Execution of ServiceCallout SC-1 failed. Reason: the TLS handshake failed');
    const missing = await faultOf(serviceCalloutPolicy.create(tlsConfig('callout-ca', true), meta)(context()));
    expect(missing.message).toContain('the trust store is not available');
  });
});

describe('ServiceCallout: fire and forget', () => {
  it('returns before the callout is answered; a failure is only logged', async () => {
    const before = held.length;
    const step = serviceCalloutPolicy.create(
      {
        request: { set: { headers: { 'x-audit': '1' } } },
        httpTargetConnection: { url: `http://127.0.0.1:${httpPort}/hold/ff` },
      },
      meta,
    );
    const ctx = context();
    expect(await step(ctx)).toBeUndefined();
    // The step is done; the server has not answered (it may not even have read the request yet).
    await expect.poll(() => held.length).toBe(before + 1);
    held.at(-1)!.end();
    const lines: string[] = [];
    const log = (await import('pino')).pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    const failing = serviceCalloutPolicy.create({ httpTargetConnection: { url: 'http://169.254.169.254/' } }, meta);
    expect(await failing(makePolicyContext({ egress, log }))).toBeUndefined();
    await expect.poll(() => lines.length).toBeGreaterThan(0);
    expect(lines[0]).toContain('GH_ERR_EGRESS_REFUSED');
  });
});

describe('ServiceCallout config', () => {
  const problems = (config: unknown) => serviceCallout.validate!(config).map((p) => `${p.path}: ${p.message}`);
  it('takes a key only from a Secret, and keyStore only with clientAuthEnabled', () => {
    expect(
      problems({
        httpTargetConnection: {
          url: 'https://x.test',
          sslInfo: { clientAuthEnabled: true, keyStore: { certificate: 'PEM', key: 'PEM' } },
        },
      }),
    ).toEqual([
      expect.stringMatching(/^httpTargetConnection\.sslInfo\.keyStore\.key: a private key comes from a Secret only/),
    ]);
    expect(problems({ httpTargetConnection: { url: 'https://x.test', sslInfo: { clientAuthEnabled: true } } })).toEqual(
      ['httpTargetConnection.sslInfo.keyStore: clientAuthEnabled needs a keyStore'],
    );
  });
  it('refuses sslInfo on http URLs, bad templates, and a response variable named request', () => {
    expect(problems({ response: 'request', httpTargetConnection: { url: 'http://x.test/{', sslInfo: {} } })).toEqual([
      'response: the callout response cannot replace the request',
      expect.stringMatching(/^httpTargetConnection\.url: /),
      'httpTargetConnection.sslInfo: sslInfo applies to https:// URLs and https services only',
    ]);
  });
  it('a target is exactly one of url and service; a service of another namespace and a path that is not a path are refused', () => {
    expect(problems({ httpTargetConnection: {} })).toEqual(['httpTargetConnection: exactly one of url and service']);
    expect(problems({ httpTargetConnection: { url: 'http://x.test', service: { name: 'a', port: 80 } } })).toEqual([
      'httpTargetConnection: exactly one of url and service',
    ]);
    expect(problems({ httpTargetConnection: { service: { name: 'orders.billing', port: 80 } } })).toEqual([
      expect.stringMatching(/^httpTargetConnection\.service\.name: "orders\.billing" names another namespace/),
    ]);
    expect(problems({ httpTargetConnection: { service: { name: 'Orders_1', port: 80 } } })).toEqual([
      'httpTargetConnection.service.name: "Orders_1" is not a Service name',
    ]);
    for (const path of ['//evil.test/', 'v1', '/a@b', '/\\evil', '/http://evil', '/{a}//x'])
      expect(problems({ httpTargetConnection: { service: { name: 'a', port: 80 }, path } }), path).toEqual([
        expect.stringMatching(/^httpTargetConnection\.path: /),
      ]);
    expect(problems({ httpTargetConnection: { url: 'http://x.test', path: '/a' } })).toEqual([
      'httpTargetConnection.path: path goes with service; a url holds its path',
    ]);
    expect(
      problems({ httpTargetConnection: { service: { name: 'a', port: 80 }, path: '/v1/{request.header.id}' } }),
    ).toEqual([]);
    expect(problems({ httpTargetConnection: { service: { name: 'a', port: 80 }, sslInfo: {} } })).toEqual([
      'httpTargetConnection.sslInfo: sslInfo applies to https:// URLs and https services only',
    ]);
    expect(
      problems({ httpTargetConnection: { service: { name: 'a', port: 443, scheme: 'https' }, sslInfo: {} } }),
    ).toEqual([]);
  });
  it('refuses a bad config at create with the policy named', () => {
    expect(() =>
      serviceCalloutPolicy.create({ httpTargetConnection: { url: 'http://x.test', sslInfo: {} } }, meta),
    ).toThrow(PolicyConfigError);
  });
});
