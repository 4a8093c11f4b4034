// JavaCallout against the real Java callout host (java/, built with Maven by e2e/env/java.ts) running a
// callout compiled here with Maven against the interface jar (testdata/java-callout): message and
// variable access, Apigee's fault for an exception, ABORT or null, a callout that never returns, a
// busy host, a host killed and restarted, and class-loader isolation.
import { cpSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../e2e/env/eventually.ts';
import { compileCallout, ensureJavaHost, startJavaHost, type RunningJavaHost } from '../../../../e2e/env/java.ts';
import type { JavaCalloutConfig } from '../../../../protos/policies/extension/java-callout.ts';
import { GrpcCallouts } from '../../callouts/external-callout-client.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { javaCalloutPolicy } from './java-callout.ts';

const work = mkdtempSync(join(tmpdir(), 'gatehouse-javacallout-'));
const jars = join(work, 'jars');
const logs = join(work, 'logs');
let host: RunningJavaHost;
let busyHost: RunningJavaHost | undefined;
const log = (line: string) => console.log(`[java] ${line}`);
// extproc's ExternalCallout client (the server's ctx.callouts), shared as the server shares it.
const callouts = new GrpcCallouts({ log: pino({ level: 'silent' }) });
const setJavaCalloutHost = (address: string | undefined) => {
  if (address === undefined) delete process.env.GATEHOUSE_JAVA_CALLOUT_HOST;
  else process.env.GATEHOUSE_JAVA_CALLOUT_HOST = address;
};

const config: JavaCalloutConfig = {
  className: 'test.callouts.TestCallout',
  resourceURL: 'java://callouts.jar',
  properties: { greeting: 'hello from java' },
  flowVariables: ['my.var', 'doomed'],
  timeoutMs: 800,
};

async function run(options: PolicyContextOptions, c: JavaCalloutConfig = config) {
  const ctx = makePolicyContext({ callouts, ...options });
  await javaCalloutPolicy.create(c, { namespace: 'default', name: 'java-1' })(ctx);
  return ctx;
}

async function fault(options: PolicyContextOptions, c: JavaCalloutConfig = config): Promise<PolicyFault> {
  try {
    await run(options, c);
  } catch (err) {
    if (err instanceof PolicyFault) return err;
    throw err;
  }
  throw new Error('the policy raised no fault');
}

const marker = (m: string): PolicyContextOptions => ({ headers: { 'x-marker': m } });

beforeAll(async () => {
  const built = ensureJavaHost(log);
  log(`host ${built.hostJar} (${built.origin})`);
  mkdirSync(jars);
  mkdirSync(logs);
  const project = join(work, 'callout-project');
  cpSync(join(import.meta.dirname, 'testdata', 'java-callout'), project, { recursive: true });
  cpSync(compileCallout(project, built.apiJar, log), join(jars, 'callouts.jar'));
  host = await startJavaHost(built, { jars, logDir: logs });
  setJavaCalloutHost(host.address);
  // A fresh JVM's first call (class loading, JIT, the connection) can outlast the tests' 800 ms limit.
  await run({}, { ...config, timeoutMs: 10_000 });
}, 600_000);

afterAll(async () => {
  setJavaCalloutHost(undefined);
  callouts.close();
  await host?.process.stop();
  await busyHost?.process.stop();
  rmSync(work, { recursive: true, force: true });
});

describe('JavaCallout with the Java callout host', () => {
  it('sets a header from a property, reads and sets variables, removes what it removes', async () => {
    const ctx = await run({
      path: '/orders?a=1&b=2',
      headers: { 'x-in': 'inbound', 'x-remove-me': 'yes' },
      variables: { 'my.var': 'mine', doomed: 'here', 'not.sent': 'secret' },
    });
    expect(ctx.request.headers.get('x-java')).toBe('hello from java');
    expect(ctx.request.headers.get('x-query-a')).toBe('1');
    expect(ctx.request.headers.has('x-remove-me')).toBe(false);
    expect(ctx.variables.get('java.seen')).toBe('inbound/mine');
    expect(ctx.variables.get('java.count')).toBe(42);
    expect(ctx.variables.get('java.flag')).toBe(true);
    expect(ctx.variables.get('doomed')).toBeUndefined();
    expect(ctx.variables.get('not.sent')).toBe('secret');
  });

  it('changes the response and its content in the response flow', async () => {
    const ctx = await run({ response: { status: 200, headers: { 'content-type': 'text/plain' }, body: 'quiet' } });
    expect(ctx.response!.headers.get('x-java')).toBe('hello from java');
    expect(ctx.response!.body.text()).toBe('QUIET');
    expect(ctx.request.headers.has('x-java')).toBe(false);
  });

  it("raises Apigee's ExecutionError for an exception, keeping what the callout set before it", async () => {
    const ctx = makePolicyContext({ callouts, ...marker('throw') });
    const step = javaCalloutPolicy.create(config, { namespace: 'default', name: 'java-1' });
    const err = await Promise.resolve(step(ctx)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PolicyFault);
    expect(err).toMatchObject({
      status: 500,
      errorCode: 'steps.javacallout.ExecutionError',
      message: 'Execution returned an error result',
    });
    // The exception text is for the operator's log, never the client's fault.
    expect(JSON.stringify(err)).not.toContain('marker says throw');
    expect(ctx.variables.get('java.before')).toBe('set before the throw');
  });

  it('raises ExecutionError for null, and for ABORT with the error response the callout built', async () => {
    expect(await fault(marker('null'))).toMatchObject({ errorCode: 'steps.javacallout.ExecutionError' });
    const aborted = await fault(marker('abort'));
    expect(aborted).toMatchObject({ status: 500, errorCode: 'steps.javacallout.ExecutionError' });
    expect(aborted.headers['x-callout-error']).toBe('denied');
    expect(aborted.body?.content).toBe('{"error":"denied by callout"}');
  });

  it('stops a callout that never returns, with a fault, and serves the next call', async () => {
    const err = await fault(marker('loop'));
    expect(err).toMatchObject({
      errorCode: 'steps.javacallout.ExecutionError',
      message: 'Execution timed out after 800 ms',
    });
    const ctx = await run({ headers: { 'x-in': 'after' } });
    expect(ctx.variables.get('java.seen')).toBe('after/null');
    // The runaway thread is stopped, not left spinning: several loops in a row never exhaust the host.
    for (let i = 0; i < 3; i++) await fault(marker('loop'));
    expect((await run({})).request.headers.get('x-java')).toBe('hello from java');
  });

  it('keeps callouts apart from the host: no gRPC, protobuf or host classes, the JDK yes', async () => {
    const ctx = await run(marker('isolation'));
    expect(ctx.variables.get('java.grpc')).toBe('hidden');
    expect(ctx.variables.get('java.proto')).toBe('hidden');
    expect(ctx.variables.get('java.host')).toBe('hidden');
    expect(ctx.variables.get('java.jdk')).toBe('visible');
  });

  it('faults for a jar or class that is not there, or a class of the host that is no callout', async () => {
    for (const c of [
      { ...config, resourceURL: 'java://missing.jar' },
      { ...config, className: 'test.callouts.Nope' },
      { ...config, className: 'dev.gatehouse.callout.host.Main' },
      { ...config, className: 'java.lang.String' },
    ]) {
      expect(await fault({}, c)).toMatchObject({ errorCode: 'steps.javacallout.ExecutionError' });
    }
  });

  it('refuses a ResourceURL outside the callout folder at config time', () => {
    for (const resourceURL of ['java://../etc/passwd.jar', 'java://a/b.jar', 'file:///x.jar']) {
      expect(() => javaCalloutPolicy.create({ ...config, resourceURL }, { namespace: 'default', name: 'j' })).toThrow(
        /resourceURL/,
      );
    }
  });

  it('answers busy beyond the concurrency limit instead of queueing', async () => {
    const built = ensureJavaHost(log);
    busyHost = await startJavaHost(built, { jars, logDir: logs, name: 'java-callout-host-busy', maxConcurrent: 1 });
    setJavaCalloutHost(busyHost.address);
    try {
      const slow = { ...config, timeoutMs: 3000 };
      // The first call opens the connection and loads the class, so the loop below starts at once.
      await run({}, { ...config, timeoutMs: 10_000 });
      let loopRefused = false;
      const startLoop = () =>
        fault(marker('loop'), slow).then((f) => {
          loopRefused = f.message === 'Java callout host is busy';
          return f;
        });
      let looping = startLoop();
      // Once the loop holds the only slot, another call is refused at once. (A probe that got the slot
      // first makes the loop the refused one: then the loop starts again.)
      const busy = await eventually('a call refused as busy', async () => {
        const f = await fault(marker('null'), slow);
        if (f.message === 'Java callout host is busy') return f;
        if (loopRefused) looping = startLoop();
        return undefined;
      });
      expect(busy).toMatchObject({ errorCode: 'steps.javacallout.ExecutionError' });
      expect(await looping).toMatchObject({ message: 'Execution timed out after 3000 ms' });
    } finally {
      setJavaCalloutHost(host.address);
    }
  });

  it('faults at once while the host is down, and serves again once it is back', async () => {
    const port = Number(host.address.split(':')[1]);
    await host.process.kill();
    expect(await fault({})).toMatchObject({
      errorCode: 'steps.javacallout.ExecutionError',
      message: 'Java callout host is unavailable',
    });
    host = await startJavaHost(ensureJavaHost(log), { jars, logDir: logs, name: 'java-callout-host-2', port });
    const ctx = await eventually('the restarted host to serve', async () => {
      try {
        return await run({});
      } catch {
        return undefined;
      }
    });
    expect(ctx.request.headers.get('x-java')).toBe('hello from java');
  });
});
