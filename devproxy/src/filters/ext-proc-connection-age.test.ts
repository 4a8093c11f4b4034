// The ext_proc cluster's max_connection_duration, as the operator compiles it from a DataPlane's
// spec.extproc.maxConnectionAge (80% of it): Envoy's pool retires the connection at that age and the
// next stream opens a new one (ActiveClient::onConnectionDurationTimeout), with no stream refused.
// devproxy plays it; a TCP relay in front of the stack's extproc counts the connections.
import { createServer, connect, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../e2e/env/eventually.ts';
import { closeServer, send, startEcho, startStack, type Stack } from '../../../e2e/dev/harness.ts';

/** A TCP relay whose target is set later; counts the connections it accepts. */
async function startRelay() {
  let target = 0;
  let accepted = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    accepted++;
    const outbound = connect(target, '127.0.0.1');
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    inbound.pipe(outbound).pipe(inbound);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    setTarget: (port: number) => (target = port),
    accepted: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

const manifests = (echoPort: number, age: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: local, namespace: gatehouse-system}
spec:
  listeners: [{name: http, port: 8080, protocol: HTTP, allowedRoutes: {namespaces: {from: All}}}]
  messageTimeout: 10s
  extproc: {maxConnectionAge: ${age}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: aged, namespace: test}
spec:
  basePath: /aged
  target: {url: "http://127.0.0.1:${echoPort}"}
`;

let relay: Awaited<ReturnType<typeof startRelay>>;
let echo: Awaited<ReturnType<typeof startEcho>>;
let stack: Stack;

beforeAll(async () => {
  relay = await startRelay();
  echo = await startEcho();
  stack = await startStack({ extProcPort: relay.port });
  relay.setTarget(Number(stack.extproc.address.split(':')[1]));
});

afterAll(async () => {
  await stack.close();
  await relay.close();
  await closeServer(echo.server);
});

describe("the ext_proc cluster's max_connection_duration", () => {
  it('retires the connection at that age: later streams go on a new one, every request answered', async () => {
    const snapshot = await stack.publish(manifests(echo.port, '1s'));
    const cluster = snapshot.envoy.clusters.find((c) => c.name === 'gatehouse-extproc/gatehouse-system/local')!;
    expect(JSON.stringify(cluster)).toContain('"max_connection_duration":"0.800s"');
    const first = await send(`${stack.baseUrl()}/aged/a`);
    expect(first.status).toBe(200);
    const before = relay.accepted();
    expect(before).toBeGreaterThanOrEqual(1);
    const statuses: number[] = [];
    await eventually(
      'a new ext_proc connection after max_connection_duration',
      async () => {
        statuses.push((await send(`${stack.baseUrl()}/aged/b`)).status);
        return relay.accepted() > before;
      },
      30_000,
      100,
    );
    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
