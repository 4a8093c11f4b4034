// The Envoy deep check against devproxy's admin endpoint (the Envoy stand-in's /ready, with Envoy's
// semantics) and, for the health route, a listener on loopback; dead and hanging ports too.
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAdminServer, DevproxyMetrics } from '../../../devproxy/src/admin.ts';
import { envoyHealthPath } from '../api/names.ts';
import { DEEP_CHECK_HEADER } from './deep-check.ts';
import { DEEP_CHECK_HOST, EnvoyDeepChecker } from './envoy-deep-check.ts';

const servers: Server[] = [];
async function listen(server: Server): Promise<number> {
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return (server.address() as AddressInfo).port;
}
afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

/** devproxy's admin server; `ready` says whether a listener is bound, as devproxy's proxy does. */
async function devproxyAdmin(ready: () => boolean): Promise<number> {
  return listen(createAdminServer(new DevproxyMetrics(() => 0), ready));
}

const target = { namespace: 'shop', dataPlane: 'eu' };

describe('EnvoyDeepChecker', () => {
  it("passes on the admin /ready's 200 LIVE and fails on its 503, naming the state", async () => {
    let ready = false;
    const readyPort = await devproxyAdmin(() => ready);
    const checker = new EnvoyDeepChecker({ readyPort, timeoutMs: 2000 });
    expect(await checker.check('127.0.0.1', target)).toEqual({ ok: false, message: 'ready: 503 PRE_INITIALIZING' });
    ready = true;
    expect(await checker.check('127.0.0.1', target)).toEqual({ ok: true, message: 'ready: 200 LIVE' });
  });

  it('fails when nothing answers: a refused connection, or no answer before the deadline', async () => {
    const dead = await listen(createServer());
    await new Promise((resolve) => servers.pop()!.close(resolve));
    expect((await new EnvoyDeepChecker({ readyPort: dead }).check('127.0.0.1', target)).message).toMatch(
      /^ready: connect ECONNREFUSED/,
    );
    const hanging = await listen(createServer(() => {}));
    const started = Date.now();
    expect(await new EnvoyDeepChecker({ readyPort: hanging, timeoutMs: 300 }).check('127.0.0.1', target)).toEqual({
      ok: false,
      message: expect.stringMatching(/^ready: no answer within \d+ ms$/) as unknown,
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('with a health route: asks it on the listener with the deep-check host and header, and only a 200 passes', async () => {
    const readyPort = await devproxyAdmin(() => true);
    const seen: IncomingMessage[] = [];
    let status = 200;
    const listenerPort = await listen(
      createServer((req, res) => {
        seen.push(req);
        res.writeHead(req.url === '/.gatehouse/healthz' ? status : 404).end();
      }),
    );
    const checker = new EnvoyDeepChecker({ readyPort, healthRoute: { path: envoyHealthPath } });
    const withListener = { ...target, listener: { port: listenerPort, tls: false } };
    expect(await checker.check('127.0.0.1', withListener)).toEqual({
      ok: true,
      message: `ready: 200; /.gatehouse/healthz on port ${listenerPort}: 200`,
    });
    expect(seen[0]!.headers).toMatchObject({ host: DEEP_CHECK_HOST, [DEEP_CHECK_HEADER]: '1' });
    // An upstream-style failure on the route: Envoy is not serving it.
    status = 503;
    expect(await checker.check('127.0.0.1', withListener)).toEqual({
      ok: false,
      message: `/.gatehouse/healthz on port ${listenerPort}: 503`,
    });
    // Without a listener to ask (a DataPlane without listeners), /ready alone decides.
    expect((await checker.check('127.0.0.1', target)).ok).toBe(true);
  });
});
