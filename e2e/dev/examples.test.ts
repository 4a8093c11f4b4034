// `gatehouse dev` serves examples/ end to end on any free ports: the examples target the Service
// shop/echo port 80, and dev gives that Service the demo upstream's actual address, so
// --upstream-port moves the upstream without touching a manifest.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { send } from './harness.ts';
import { devPorts, gatehouse, until, type Command } from './processes.ts';

const examples = join(import.meta.dirname, '../../examples');
let dev: Command;
let base: string;

beforeAll(async () => {
  const { port, args } = await devPorts();
  dev = gatehouse(['dev', '-f', examples, ...args]);
  base = `http://127.0.0.1:${port}`;
  // Without a key VerifyAPIKey answers 401 before the spike arrest counts the request.
  await until(
    dev,
    'the examples to be served',
    async () => (await send(`${base}/orders/v1/orders`)).status === 401,
    60_000,
  );
}, 90_000);

afterAll(async () => {
  await dev?.stop();
});

it("the example App's key reaches the echo upstream through the Service target, on a random upstream port", async () => {
  const ok = await send(`${base}/orders/v1/orders`, { headers: { 'x-api-key': 'k-123' } });
  expect(ok.status, ok.body).toBe(200);
  expect(ok.headers['x-upstream']).toBe('echo');
  expect(ok.echo?.path).toBe('/orders');
  expect(ok.headers['x-app']).toBe('mobile');
  const item = await send(`${base}/catalog/v1/items/42`, { headers: { 'x-api-key': 'k-123' } });
  expect(item.status, item.body).toBe(200);
  expect(item.echo?.path).toBe('/items/42');
});
