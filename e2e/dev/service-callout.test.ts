// ServiceCallout end to end: devproxy on xDS, a real extproc with the egress client, an HTTPS
// service started here (certificates issued here, the CA in a Secret), and the echo upstream. The
// callout's response is copied into a request header the upstream sees; a callout to the metadata
// address is refused with Apigee's fault; a fire-and-forget callout to a service that never answers
// does not hold the client's response. The DataPlane names 127.0.0.0/8 as a network callouts may reach.
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import type { ServerResponse } from 'node:http';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EgressClient } from '../../extproc/src/egress/client.ts';
import { createCa, issueLeaf } from '../tls/pki.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };
let service: HttpsServer;
const egress = new EgressClient();
const held: ServerResponse[] = [];

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

beforeAll(async () => {
  const ca = await createCa('callout-e2e-ca');
  const leaf = await issueLeaf(ca, 'localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
  service = createHttpsServer({ cert: leaf.cert, key: leaf.key }, (req, res) => {
    if (req.url?.startsWith('/audit')) return void held.push(res); // never answers until the test ends
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ tier: 'gold', customer: req.headers['x-customer'] }));
  });
  await new Promise<void>((r) => service.listen(0, '127.0.0.1', r));
  const port = (service.address() as AddressInfo).port;
  [stack, echo] = await Promise.all([startStack({ extprocEgress: egress }), startEcho()]);
  const caPem = JSON.stringify(ca.cert);
  await stack.publish(`${proxyYaml({
    name: 'callout',
    basePath: '/callout',
    upstreamPort: echo.port,
    flows: 'flows: {preFlow: {request: [{policy: lookup}, {policy: copy-tier}, {policy: audit}]}}',
  })}---
${proxyYaml({
  name: 'metadata',
  basePath: '/metadata',
  upstreamPort: echo.port,
  flows: 'flows: {preFlow: {request: [{policy: steal}]}}',
})}---
apiVersion: v1
kind: Secret
metadata: {name: callout-ca, namespace: test, labels: {gatehouse.dev/credential: "true"}}
stringData: {ca.crt: ${caPem}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: lookup, namespace: test}
spec:
  type: ServiceCallout
  serviceCallout:
    request: {variable: tierRequest, set: {headers: {x-customer: "{request.header.x-customer}"}}}
    response: tierResponse
    timeout: 3000
    httpTargetConnection:
      url: "https://localhost:${port}/tiers"
      sslInfo: {enabled: true, trustStore: {secretRef: {name: callout-ca, key: ca.crt}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: copy-tier, namespace: test}
spec:
  type: AssignMessage
  assignMessage:
    set: {headers: {x-tier: "{jsonPath('$.tier',tierResponse.content)}", x-tier-status: "{tierResponse.status.code}"}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: audit, namespace: test}
spec:
  type: ServiceCallout
  serviceCallout:
    httpTargetConnection: {url: "https://localhost:${port}/audit", sslInfo: {trustStore: {secretRef: {name: callout-ca, key: ca.crt}}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: steal, namespace: test}
spec:
  type: ServiceCallout
  serviceCallout: {response: creds, httpTargetConnection: {url: "http://169.254.169.254/latest/meta-data/iam/"}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: default, namespace: default}
spec:
  messageTimeout: 5s
  listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]
  upstream: {calloutPrivateNetworks: [127.0.0.0/8]}
`);
  await pathReady(stack);
});

afterAll(async () => {
  for (const res of held) res.end();
  await stack?.close();
  egress.close();
  if (echo) await closeServer(echo.server);
  service?.closeAllConnections();
  await new Promise<void>((r) => service?.close(() => r()));
});

describe('ServiceCallout through devproxy', () => {
  it("copies the callout's response into a header the upstream sees; fire and forget does not hold the response", async () => {
    const reply = await send(`${stack.baseUrl()}/callout/orders`, { headers: { 'x-customer': 'c-42' } });
    expect(reply.status).toBe(200);
    expect(reply.echo?.headers['x-tier']).toBe('gold');
    expect(reply.echo?.headers['x-tier-status']).toBe('200');
    // The audit callout was sent and is still unanswered: the client's response did not wait for it.
    await expect.poll(() => held.length).toBeGreaterThan(0);
  });

  it("answers Apigee's fault for a callout to the metadata address, and never connects there", async () => {
    const reply = await send(`${stack.baseUrl()}/metadata/x`);
    expect([reply.status, errorCode(reply.body)]).toEqual([500, 'steps.servicecallout.ExecutionFailed']);
    expect(reply.body).toContain('the target address is not allowed');
    expect(reply.body).not.toContain('169.254');
  });
});
