// ExternalCallout end to end: devproxy on xDS, a real extproc, a gRPC callout server (grpc-js,
// Apigee's ExternalCalloutService from protos/apigee) and the echo upstream. The server's changes reach
// the upstream, its variables feed a later step, a fault on a marker stops the flow even under
// continueOnError, and a server that never answers gives Apigee's fault at TimeoutMs, never a hang.
// (A server in another language, Python's grpcio, is in extproc/src/policies/extension/external-callout.int.test.ts.)
import type { Server } from 'node:http';
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalCalloutProtos } from '../../extproc/src/callouts/external-callout-client.ts';
import type { MessageContext__Output } from '../../protos/gen/apigee/MessageContext.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };
let callout: grpc.Server;
const held: Array<() => void> = [];

function processMessage(
  call: grpc.ServerUnaryCall<MessageContext__Output, unknown>,
  done: grpc.sendUnaryData<unknown>,
): void {
  const ctx = call.request;
  const mode = ctx.additionalFlowVariables['request.header.x-mode']?.string ?? '';
  if (mode === 'hang') {
    // Never answered while the test runs; released at the end so the server can shut down.
    held.push(() => done(null, ctx));
    return;
  }
  if (mode === 'deny') {
    done(null, { fault: { name: 'Denied', faultString: 'the callout said no' } });
    return;
  }
  done(null, {
    request: {
      headers: { 'x-callout': { strings: ['seen'] }, 'x-secret': { strings: [] } },
      content: (ctx.request?.content ?? '').replace('draft', 'approved'),
    },
    additionalFlowVariables: { 'callout.user': { string: 'alice' } },
  });
}

const policies = (port: number) => `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: enrich, namespace: test}
spec:
  type: ExternalCallout
  continueOnError: true
  externalCallout:
    timeoutMs: 400
    grpcConnection: {server: "127.0.0.1:${port}"}
    configurations: {withRequestContent: true, flowVariables: [request.header.x-mode]}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: test}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-user: "{callout.user}"}}}}
`;

beforeAll(async () => {
  callout = new grpc.Server();
  callout.addService(externalCalloutProtos().apigee.ExternalCalloutService.service, {
    processMessage,
  });
  const port = await new Promise<number>((resolve, reject) =>
    callout.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (err, p) =>
      err ? reject(err) : resolve(p),
    ),
  );
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(
    `${proxyYaml({
      name: 'callout',
      basePath: '/callout',
      upstreamPort: echo.port,
      flows: 'flows: {preFlow: {request: [{policy: enrich}, {policy: stamp}]}}',
    })}${policies(port)}`,
  );
  await pathReady(stack);
});

afterAll(async () => {
  for (const release of held.splice(0)) release();
  await stack?.close();
  if (echo) await closeServer(echo.server);
  callout?.forceShutdown();
});

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

describe('ExternalCallout through devproxy', () => {
  it("the server's header and content changes reach the upstream; its variable feeds the next step", async () => {
    const reply = await send(`${stack.baseUrl()}/callout/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-secret': 'drop me' },
      body: '{"state":"draft"}',
    });
    expect(reply.status).toBe(200);
    expect(reply.echo?.headers['x-callout']).toBe('seen');
    expect(reply.echo?.headers['x-secret']).toBeUndefined();
    expect(reply.echo?.headers['x-user']).toBe('alice');
    expect(reply.echo?.body).toBe('{"state":"approved"}');
  });

  it('a fault the server raises stops the flow even with continueOnError: 500 steps.externalcallout.Denied', async () => {
    const reply = await send(`${stack.baseUrl()}/callout/orders`, { headers: { 'x-mode': 'deny' } });
    expect([reply.status, errorCode(reply.body)]).toEqual([500, 'steps.externalcallout.Denied']);
    expect(reply.echo).toBeUndefined();
  });

  it('a server that never answers: the step fails at TimeoutMs and continueOnError lets the request through unchanged', async () => {
    const reply = await send(`${stack.baseUrl()}/callout/orders`, { headers: { 'x-mode': 'hang' } });
    expect(reply.status).toBe(200);
    expect(reply.echo?.headers['x-callout']).toBeUndefined();
    expect(held.length).toBeGreaterThan(0);
  });
});
