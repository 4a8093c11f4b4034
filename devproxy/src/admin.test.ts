// devproxy's admin endpoint over real HTTP: not ready before LDS binds a listener, ready after, and
// every proxied request counted by status in Prometheus text.
import { once } from 'node:events';
import type { Server } from 'node:http';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { closeServer, proxyYaml, send, startEcho, startStack, type Stack } from '../../e2e/dev/harness.ts';
import { createAdminServer } from './admin.ts';

let stack: Stack;
let echo: Awaited<ReturnType<typeof startEcho>>;
let admin: Server;
let adminUrl: string;

beforeAll(async () => {
  stack = await startStack();
  echo = await startEcho('a');
  admin = createAdminServer(stack.devproxy.proxy.metrics, () => stack.devproxy.proxy.ready).listen(0, '127.0.0.1');
  await once(admin, 'listening');
  adminUrl = `http://127.0.0.1:${(admin.address() as { port: number }).port}`;
});

afterAll(async () => {
  await closeServer(admin);
  await closeServer(echo.server);
  await stack.close();
});

it('is ready once a listener is bound, and counts requests by status', async () => {
  expect((await fetch(`${adminUrl}/ready`)).status).toBe(503);
  await stack.publish(proxyYaml({ name: 'counted', basePath: '/api', upstreamPort: echo.port }));
  expect((await fetch(`${adminUrl}/ready`)).status).toBe(200);

  expect((await send(`${stack.baseUrl()}/api/x`)).status).toBe(200);
  expect((await send(`${stack.baseUrl()}/nowhere`)).status).toBe(404);
  const text = await (await fetch(`${adminUrl}/stats/prometheus`)).text();
  expect(text).toMatch(/^devproxy_http_requests_total\{code="200"\} 1$/m);
  expect(text).toMatch(/^devproxy_http_requests_total\{code="404"\} 1$/m);
  expect(text).toMatch(/^devproxy_listeners 1$/m);
  expect(await (await fetch(`${adminUrl}/metrics`)).text()).toMatch(/^devproxy_http_requests_total\{code="200"\} 1$/m);
});
