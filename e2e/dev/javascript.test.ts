// The JavaScript policy end to end (docs/policies.md#javascript): manifests compiled by the real
// compiler, devproxy on xDS, a real extproc with a one-worker pool and the echo upstream, over real HTTP.
// A script reads and changes the real request; a script that loops holds its worker, not the event
// loop (a light request is answered meanwhile), ends with Apigee's fault at its timeLimit, and the worker
// serves the next script. Every wait is for a condition.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { closeServer, proxyYaml, send, startEcho, startStack, waitFor, type Reply, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;
const policy = (name: string, spec: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: ${name}, namespace: test}
spec: ${spec}
`;

const script = `var order = JSON.parse(request.content);
order.total = order.lines.reduce(function (t, l) { return t + l.qty * l.price; }, 0);
request.content = JSON.stringify(order);
request.headers['x-order-total'] = String(order.total);
var h = crypto.getSHA256(); h.update(order.id); request.headers['x-order-hash'] = h.digest();
context.setVariable('request.header.x-region', properties.region + ':' + request.queryParams.page);`;

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  // A phase budget well past the looping script's timeLimit: the fault is the script's, not the pool's.
  [stack, echo] = await Promise.all([startStack({ extprocWork: { workers: 1, budgetMs: 30_000 } }), startEcho()]);
  await stack.publish(
    [
      `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 18080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 120s
`,
      proxyYaml({
        name: 'orders',
        basePath: '/orders',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: js-total}]}}',
      }),
      policy(
        'js-total',
        `{type: JavaScript, javaScript: {resourceURL: 'jsc://total.js', properties: {region: eu}, source: ${JSON.stringify(script)}}}`,
      ),
      proxyYaml({
        name: 'spin',
        basePath: '/spin',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: js-spin}]}}',
      }),
      policy('js-spin', `{type: JavaScript, javaScript: {timeLimit: 3000, source: 'while (true) {}'}}`),
      proxyYaml({
        name: 'light',
        basePath: '/light',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: mark}]}}',
      }),
      policy('mark', `{type: AssignMessage, assignMessage: {set: {headers: {x-light: 'yes'}}}}`),
    ].join('---\n'),
  );
  expect((await send(`${stack.baseUrl()}/light/warm`)).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('JavaScript through devproxy', () => {
  it('the script rewrites the body and sets headers the upstream receives', async () => {
    const lines = [
      { qty: 2, price: 2.5 },
      { qty: 1, price: 10 },
    ];
    const body = JSON.stringify({ id: 'A-7', lines });
    const reply = await send(`${stack.baseUrl()}/orders/new?page=3`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    });
    expect(reply.status).toBe(200);
    expect(JSON.parse(reply.echo!.body)).toEqual({ id: 'A-7', lines, total: 15 });
    expect(reply.echo!.headers['x-order-total']).toBe('15');
    expect(reply.echo!.headers['x-order-hash']).toMatch(/^[0-9a-f]{64}$/);
    expect(reply.echo!.headers['x-region']).toBe('eu:3');
  });

  it('a looping script holds its worker, not the event loop, and ends with steps.javascript.ScriptExecutionFailed', async () => {
    const pool = stack.extproc.server.pool!;
    let spinReply: Reply | undefined;
    const spin = send(`${stack.baseUrl()}/spin/x`).then((r) => (spinReply = r));
    await waitFor(() => pool.busy > 0 || spinReply !== undefined, 'the script to reach the worker', 60_000);
    expect(spinReply, 'the looping script was answered before it reached a worker').toBeUndefined();
    const light = await send(`${stack.baseUrl()}/light/orders`);
    expect(light.status).toBe(200);
    expect(light.echo?.headers['x-light']).toBe('yes');
    expect(spinReply, 'the light request waited for the looping script').toBeUndefined();
    const answered = await spin;
    expect(answered.status).toBe(500);
    expect(JSON.parse(answered.body)).toEqual({
      fault: {
        faultstring: 'Execution of js-spin failed with error: Javascript runtime exceeded limit of 3000ms',
        detail: { errorcode: 'steps.javascript.ScriptExecutionFailed' },
      },
    });
    // The same worker runs the next script.
    const next = await send(`${stack.baseUrl()}/orders/again`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ id: 'B', lines: [] }),
    });
    expect(next.status).toBe(200);
    expect(next.echo!.headers['x-order-total']).toBe('0');
  });
});
