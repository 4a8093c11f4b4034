// Bounded work end to end (docs/failure-modes.md, issue 13 item 5): manifests compiled by the real
// compiler, devproxy on xDS, a real extproc with its default worker pool and the echo upstream, over
// real HTTP. A worst-case body does not hold up light requests on another route, and a body over the
// limit is refused. Every wait is for a condition.
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

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  // extproc as `gatehouse extproc` runs it by default: a worker pool (here one worker), the default
  // offload threshold and work budget.
  [stack, echo] = await Promise.all([startStack({ extprocWork: { workers: 1 } }), startEcho()]);
  await stack.publish(
    [
      // A generous per-message timeout: this test is about extproc's event loop, not Envoy's timer.
      `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 18080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 120s
`,
      proxyYaml({
        name: 'heavy',
        basePath: '/heavy',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: regex-guard}]}}',
      }),
      policy(
        'regex-guard',
        `{type: RegularExpressionProtection, regularExpressionProtection: {xmlPayload: {xPaths: [{expression: '//*', patterns: ['(?i)<\\s*script\\b']}]}}}`,
      ),
      proxyYaml({
        name: 'light',
        basePath: '/light',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: mark}]}}',
      }),
      policy('mark', `{type: AssignMessage, assignMessage: {set: {headers: {x-light: 'yes'}}}}`),
    ].join('---\n'),
  );
  // The first stream warms devproxy's channel to extproc and extproc's flow code.
  expect((await send(`${stack.baseUrl()}/light/warm`)).status).toBe(200);
}, 60_000);

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
});

describe('bounded work through devproxy', () => {
  it('answers a light request while a worst-case 1 MiB XML body is checked on a worker', async () => {
    const pool = stack.extproc.server.pool!;
    await pool.ready();
    // 1 MiB of XML 250 levels deep, 130,000 elements, every one selected by //*.
    const body = `${'<a>'.repeat(250)}${'<b>x</b>'.repeat(130_000)}${'</a>'.repeat(250)}`;
    let heavyReply: Reply | undefined;
    const heavy = send(`${stack.baseUrl()}/heavy/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body,
    }).then((r) => (heavyReply = r));
    await waitFor(() => pool.busy > 0 || heavyReply !== undefined, 'the heavy check to reach a worker', 60_000);
    expect(heavyReply, 'the heavy request was answered before it reached a worker').toBeUndefined();
    const light = await send(`${stack.baseUrl()}/light/orders`);
    expect(light.status).toBe(200);
    expect(light.echo?.headers['x-light']).toBe('yes');
    expect(heavyReply, 'the light request waited for the heavy check').toBeUndefined();
    // Checked within the default --work-budget-ms (1 s), or refused past it: bounded either way.
    const { status, body: fault } = await heavy;
    if (status !== 200) {
      expect(status).toBe(503);
      expect(fault).toContain('gatehouse.WorkBudgetExceeded');
    }
  }, 120_000);

  it('refuses a body over --max-body-bytes with 413 and never sends it upstream', async () => {
    const reply = await send(`${stack.baseUrl()}/heavy/import`, {
      method: 'POST',
      headers: { 'content-type': 'application/xml' },
      body: `<a>${'x'.repeat(1024 * 1024 + 1)}</a>`,
    });
    expect(reply.status).toBe(413);
    expect(reply.echo).toBeUndefined();
  }, 60_000);
});
