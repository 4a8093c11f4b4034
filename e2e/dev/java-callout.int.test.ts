// JavaCallout end to end: devproxy on xDS, a real extproc, the Java callout host (built by
// e2e/env/java.ts) running the test callout compiled with Maven, and the echo upstream. The callout's
// header and variable reach the upstream and a later step; an exception is Apigee's
// steps.javacallout.ExecutionError to the client; a callout that never returns is that fault at its
// timeoutMs, and the next request is served.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileCallout, ensureJavaHost, startJavaHost, type RunningJavaHost } from '../env/java.ts';
import { closeServer, pathReady, proxyYaml, send, startEcho, startStack, type Stack } from './harness.ts';

let stack: Stack;
let echo: { server: Server; port: number };
let host: RunningJavaHost;
const work = mkdtempSync(join(tmpdir(), 'gatehouse-e2e-javacallout-'));

const policies = `---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: java, namespace: test}
spec:
  type: JavaCallout
  javaCallout:
    className: test.callouts.TestCallout
    resourceURL: java://callouts.jar
    properties: {greeting: from java}
    flowVariables: [my.var]
    timeoutMs: 1500
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: stamp, namespace: test}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-seen: "{java.seen}", x-count: "{java.count}"}}}}
`;

beforeAll(async () => {
  const built = ensureJavaHost((line) => console.log(`[java] ${line}`));
  const jars = join(work, 'jars');
  mkdirSync(jars);
  const project = join(work, 'callout');
  cpSync(
    join(import.meta.dirname, '..', '..', 'extproc', 'src', 'policies', 'extension', 'testdata', 'java-callout'),
    project,
    {
      recursive: true,
    },
  );
  cpSync(compileCallout(project, built.apiJar), join(jars, 'callouts.jar'));
  host = await startJavaHost(built, { jars, logDir: work });
  // extproc runs in this process (the harness's test server): it reads the host's address from here.
  process.env.GATEHOUSE_JAVA_CALLOUT_HOST = host.address;
  [stack, echo] = await Promise.all([startStack(), startEcho()]);
  await stack.publish(
    `${proxyYaml({
      name: 'java',
      basePath: '/java',
      upstreamPort: echo.port,
      flows: 'flows: {preFlow: {request: [{policy: java}, {policy: stamp}]}}',
    })}${policies}`,
  );
  await pathReady(stack);
  // A fresh JVM's first call loads the jar and warms up; the tests below then run at their own pace.
  await send(`${stack.baseUrl()}/java/warm`);
}, 600_000);

afterAll(async () => {
  delete process.env.GATEHOUSE_JAVA_CALLOUT_HOST;
  await stack?.close();
  if (echo) await closeServer(echo.server);
  await host?.process.stop();
  rmSync(work, { recursive: true, force: true });
});

const errorCode = (body: string) =>
  (JSON.parse(body) as { fault: { detail: { errorcode: string } } }).fault.detail.errorcode;

describe('JavaCallout through devproxy', () => {
  it("the callout's header reaches the upstream and its variables feed the next step", async () => {
    const reply = await send(`${stack.baseUrl()}/java/orders?a=7`, { headers: { 'x-in': 'client' } });
    expect(reply.status).toBe(200);
    expect(reply.echo?.headers['x-java']).toBe('from java');
    expect(reply.echo?.headers['x-query-a']).toBe('7');
    expect(reply.echo?.headers['x-seen']).toBe('client/null');
    expect(reply.echo?.headers['x-count']).toBe('42');
  });

  it('an exception in the callout answers 500 steps.javacallout.ExecutionError, without the exception text', async () => {
    const reply = await send(`${stack.baseUrl()}/java/orders`, { headers: { 'x-marker': 'throw' } });
    expect([reply.status, errorCode(reply.body)]).toEqual([500, 'steps.javacallout.ExecutionError']);
    expect(reply.body).not.toContain('marker says throw');
    expect(reply.echo).toBeUndefined();
  });

  it('a callout that never returns is the same fault at timeoutMs, and the next request is served', async () => {
    const reply = await send(`${stack.baseUrl()}/java/orders`, { headers: { 'x-marker': 'loop' } });
    expect([reply.status, errorCode(reply.body)]).toEqual([500, 'steps.javacallout.ExecutionError']);
    const next = await send(`${stack.baseUrl()}/java/orders`);
    expect(next.status).toBe(200);
    expect(next.echo?.headers['x-java']).toBe('from java');
  });
});
