// The deep check against real gRPC servers on loopback: a real extproc (in process, from
// extproc/src/server), one without a snapshot (health NOT_SERVING), no server at all, a port that
// accepts TCP and never speaks, and hand-made ext_proc servers that misbehave in Envoy's protocol.
import * as net from 'node:net';
import * as grpc from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { externalProcessorService } from '../../../extproc/src/server/envoy-proto.ts';
import { testCatalog, testSnapshot } from '../../../extproc/src/server/fixtures.test-support.ts';
import { startTestServer, type TestServer } from '../../../extproc/src/server/test-server.test-support.ts';
import { DeepChecker, EXT_PROC_SERVICE, podAddress } from './deep-check.ts';
import { DeepCheckSchedule } from './deep-check-schedule.ts';

const portOf = (address: string) => Number(address.split(':').pop());
/** The deadline of checks that get an answer: generous, it only bounds the wait on a loaded machine. */
const answered = 10_000;

/** An ext_proc server that reports SERVING and answers request headers with `reply` (or never). */
async function fakeExtproc(
  reply: ((call: grpc.ServerDuplexStream<unknown, unknown>) => void) | undefined,
): Promise<{ port: number; close(): void }> {
  const server = new grpc.Server();
  server.addService(externalProcessorService(), {
    process: (call: grpc.ServerDuplexStream<unknown, unknown>) => {
      call.on('data', () => reply?.(call));
      call.on('error', () => {});
    },
  });
  new HealthImplementation({ [EXT_PROC_SERVICE]: 'SERVING' }).addToServer(server);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  return { port, close: () => server.forceShutdown() };
}

describe('DeepChecker', () => {
  let healthy: TestServer;
  let starting: TestServer;

  beforeAll(async () => {
    healthy = await startTestServer({ snapshot: testSnapshot(), catalog: testCatalog });
    starting = await startTestServer();
  });

  afterAll(async () => {
    await healthy?.close();
    await starting?.close();
  });

  it('passes a real extproc: SERVING, and the synthetic request is answered 404 RouteNotFound', async () => {
    const result = await new DeepChecker({ port: portOf(healthy.address), timeoutMs: answered }).check('127.0.0.1');
    expect(result).toEqual({
      ok: true,
      message: 'ext_proc: 404 ImmediateResponse (gatehouse_fault{gatehouse.RouteNotFound})',
    });
  });

  it('fails an extproc whose health service says NOT_SERVING (no snapshot yet)', async () => {
    expect(await new DeepChecker({ port: portOf(starting.address), timeoutMs: answered }).check('127.0.0.1')).toEqual({
      ok: false,
      message: 'health: NOT_SERVING',
    });
  });

  it('fails when nothing listens', async () => {
    const free = await new Promise<number>((resolve) => {
      const s = net.createServer().listen(0, '127.0.0.1', () => {
        const { port } = s.address() as net.AddressInfo;
        s.close(() => resolve(port));
      });
    });
    const result = await new DeepChecker({ port: free, timeoutMs: 1000 }).check('127.0.0.1');
    expect(result.ok).toBe(false);
    expect(result.message).toMatch(/^health: (UNAVAILABLE|DEADLINE_EXCEEDED)/);
  });

  it('fails within its deadline when the port accepts connections and never answers', async () => {
    const sockets: net.Socket[] = [];
    const mute = net.createServer((s) => sockets.push(s)).listen(0, '127.0.0.1');
    await new Promise((r) => mute.once('listening', r));
    try {
      const result = await new DeepChecker({ port: (mute.address() as net.AddressInfo).port, timeoutMs: 300 }).check(
        '127.0.0.1',
      );
      expect(result.ok).toBe(false);
      expect(result.message).toMatch(/^health: (DEADLINE_EXCEEDED|UNAVAILABLE)/);
    } finally {
      for (const s of sockets) s.destroy();
      mute.close();
    }
  });

  it('fails a pod whose health is SERVING but whose ext_proc stream never replies', async () => {
    const server = await fakeExtproc(undefined);
    try {
      // Long enough for the health check to pass first on a loaded machine: the stream is what is silent.
      expect(await new DeepChecker({ port: server.port, timeoutMs: 3_000 }).check('127.0.0.1')).toEqual({
        ok: false,
        message: 'ext_proc: no reply within 3000 ms',
      });
    } finally {
      server.close();
    }
  });

  it('fails a 5xx ImmediateResponse and passes a headers response', async () => {
    const broken = await fakeExtproc((call) =>
      call.write({
        immediateResponse: { status: { code: 'ServiceUnavailable' }, details: 'gatehouse_fault{gatehouse.NotReady}' },
      }),
    );
    const passing = await fakeExtproc((call) => call.write({ requestHeaders: {} }));
    try {
      expect(await new DeepChecker({ port: broken.port, timeoutMs: answered }).check('127.0.0.1')).toEqual({
        ok: false,
        message: 'ext_proc: 503 ImmediateResponse (gatehouse_fault{gatehouse.NotReady})',
      });
      expect(await new DeepChecker({ port: passing.port, timeoutMs: answered }).check('127.0.0.1')).toEqual({
        ok: true,
        message: 'ext_proc: request headers continued',
      });
    } finally {
      broken.close();
      passing.close();
    }
  });

  it('fails a stream the server aborts', async () => {
    const aborting = await fakeExtproc((call) => call.emit('error', { code: grpc.status.INTERNAL, details: 'boom' }));
    try {
      const result = await new DeepChecker({ port: aborting.port, timeoutMs: answered }).check('127.0.0.1');
      expect(result.ok).toBe(false);
      expect(result.message).toMatch(/^ext_proc: INTERNAL/);
    } finally {
      aborting.close();
    }
  });

  it('brackets IPv6 addresses and defaults to port 9002', () => {
    expect(podAddress('fd00::1', 9002)).toBe('[fd00::1]:9002');
    expect(podAddress('10.0.0.1', 9002)).toBe('10.0.0.1:9002');
    expect(new DeepChecker().port).toBe(9002);
  });
});

describe('DeepCheckSchedule', () => {
  function setup(results: Record<string, boolean>, concurrency = 2) {
    let clock = 0;
    let inFlight = 0;
    let maxInFlight = 0;
    const checked: string[] = [];
    const contexts: Record<string, unknown> = {};
    const schedule = new DeepCheckSchedule({
      intervalMs: 1000,
      concurrency,
      now: () => clock,
      checker: {
        async check(ip, target) {
          checked.push(ip);
          contexts[ip] = target;
          inFlight++;
          maxInFlight = Math.max(maxInFlight, inFlight);
          await new Promise((r) => setImmediate(r));
          inFlight--;
          return results[ip] ? { ok: true, message: 'ok' } : { ok: false, message: `down ${ip}` };
        },
      },
    });
    return { schedule, checked, contexts, tick: (ms: number) => (clock += ms), maxInFlight: () => maxInFlight };
  }
  const targets = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5'].map((ip, i) => ({
    id: `uid-${i}`,
    ip,
    dataPlane: i < 3 ? 'shop/eu' : 'shop/us',
  }));

  it('checks each pod at most once per interval, a bounded number at a time', async () => {
    const s = setup({ '10.0.0.1': true, '10.0.0.4': true });
    expect(await s.schedule.run(targets)).toEqual(new Set(['shop/eu', 'shop/us']));
    expect(s.checked).toHaveLength(5);
    expect(s.maxInFlight()).toBe(2);
    // The pod's DataPlane goes to the checker: under mutual TLS the server is verified against its name.
    expect(s.contexts['10.0.0.1']).toEqual({ namespace: 'shop', dataPlane: 'eu' });
    expect(s.contexts['10.0.0.5']).toEqual({ namespace: 'shop', dataPlane: 'us' });
    s.tick(999);
    await s.schedule.run(targets);
    expect(s.checked).toHaveLength(5);
    s.tick(1);
    await s.schedule.run(targets);
    expect(s.checked).toHaveLength(10);
  });

  it('counts consecutive failures, resets them on success, and reports which DataPlanes changed', async () => {
    const results: Record<string, boolean> = {};
    const s = setup(results);
    const one = [targets[0]!];
    await s.schedule.run(one);
    s.tick(1000);
    await s.schedule.run(one);
    expect(s.schedule.record('uid-0')).toEqual({ consecutiveFailures: 2, message: 'down 10.0.0.1' });
    results['10.0.0.1'] = true;
    s.tick(1000);
    expect(await s.schedule.run(one)).toEqual(new Set(['shop/eu']));
    expect(s.schedule.record('uid-0')).toMatchObject({ consecutiveFailures: 0 });
    s.tick(1000);
    expect(await s.schedule.run(one)).toEqual(new Set());
  });

  it('forgets pods that are no longer targets', async () => {
    const s = setup({});
    await s.schedule.run(targets.slice(0, 2));
    expect(s.schedule.record('uid-1')).toBeDefined();
    await s.schedule.run(targets.slice(0, 1));
    expect(s.schedule.record('uid-1')).toBeUndefined();
  });
});
