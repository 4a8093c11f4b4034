// A Script (Python) policy end to end (docs/policies.md#script-python): manifests compiled by the real
// compiler, devproxy on xDS, a real extproc whose Python pool starts when the snapshot first holds the
// policy, and the echo upstream. The script reads a header and a property and sets a request header the
// upstream sees; a script that raises gets Apigee's fault; one that never ends is stopped at its
// timeLimit and the next request is served.
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kinds } from '../../operator/src/api/kinds.ts';
import { closePythonPool, configurePythonPool } from '../../extproc/src/policies/extension/python/pool.ts';
import { eventually } from '../env/eventually.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

const policyKind = kinds.find((k) => k.shortNames.includes('ghpolicy'))!.kind;

const script = (name: string, body: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ${policyKind}
metadata: {name: ${name}, namespace: test}
spec:
  type: Script
  script:
    ${body.replace(/\n/g, '\n    ')}
`;

let stack: Stack;
let echo: { server: Server; port: number };

beforeAll(async () => {
  // One thread; a request waits for it at most 3 s (under the harness's 5 s messageTimeout), then 503.
  configurePythonPool({ size: 1, waitMs: 3_000 });
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(
    [
      proxyYaml({
        name: 'greet',
        basePath: '/greet',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: greet}]}}',
      }),
      script(
        'greet',
        [
          'resourceURL: py://greet.py',
          'properties: {greeting: hello}',
          `source: ${JSON.stringify('user = flow.getVariable("request.header.x-user")\nflow.setVariable("request.header.x-greeting", properties["greeting"] + " " + user)\n')}`,
        ].join('\n'),
      ),
      proxyYaml({
        name: 'broken',
        basePath: '/broken',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: broken}]}}',
      }),
      script('broken', `resourceURL: py://broken.py\nsource: ${JSON.stringify('flow.setVariable("x", num3)\n')}`),
      proxyYaml({
        name: 'spin',
        basePath: '/spin',
        upstreamPort: echo.port,
        flows: 'flows: {preFlow: {request: [{policy: spin}]}}',
      }),
      script('spin', `resourceURL: py://spin.py\ntimeLimit: 100\nsource: ${JSON.stringify('while True:\n    pass\n')}`),
    ].join('---\n'),
  );
  await pathReady(stack);
}, 120_000);

afterAll(async () => {
  await stack?.close();
  if (echo) await closeServer(echo.server);
  await closePythonPool();
});

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

const greet = () => send(`${stack.baseUrl()}/greet/x`, { headers: { 'x-user': 'ada' } });

describe('a Script (Python) policy through devproxy', () => {
  it('sets the header the upstream sees, once the pool that the snapshot started is ready (503 until then)', async () => {
    const reply = await eventually(
      'a request served by the Python script',
      async () => {
        const r = await greet();
        if (r.status === 503) throw new Error(`pool not ready yet: ${errorCode(r.body)}`);
        return r;
      },
      120_000,
    );
    expect(reply.status).toBe(200);
    expect(reply.echo!.headers['x-greeting']).toBe('hello ada');
  });

  it("answers a script that raises with Apigee's steps.script.ScriptEvaluationFailed (500), never forwarding it", async () => {
    const reply = await send(`${stack.baseUrl()}/broken/x`);
    expect(reply.status).toBe(500);
    expect(errorCode(reply.body)).toBe('steps.script.ScriptEvaluationFailed');
    expect(reply.body).toContain("NameError: name 'num3' is not defined");
    expect(reply.echo).toBeUndefined();
  });

  it('stops a script that never ends at its timeLimit, and serves the next request', async () => {
    const reply = await send(`${stack.baseUrl()}/spin/x`);
    expect(reply.status).toBe(500);
    expect(errorCode(reply.body)).toBe('steps.script.ScriptEvaluationFailed');
    expect(reply.body).toContain('timeLimit of 100 ms');
    // Interrupted, the thread goes on serving; had it been replaced (a busy machine can delay the
    // interrupt past its grace), the new one is up after its load: either way the proxy serves again.
    const next = await eventually(
      'a request served after the endless one',
      async () => {
        const r = await greet();
        if (r.status !== 200) throw new Error(`${r.status} ${r.body.slice(0, 200)}`);
        return r;
      },
      120_000,
    );
    expect(next.echo!.headers['x-greeting']).toBe('hello ada');
  });
});
