// devproxy as an xDS client of the real server (operator/src/xds): ACK with version and nonce, NACK
// with the error while the previous config keeps serving, reconnecting to a restarted control plane
// with traffic flowing on the last config meanwhile, and converging to its newest version.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { XdsControlPlane } from '../../../operator/src/xds/control-plane.ts';
import {
  appliedEverywhere,
  closeServer,
  compileYaml,
  proxyYaml,
  send,
  silentLog,
  startEcho,
  startStack,
  waitFor,
  type Stack,
} from '../../../e2e/dev/harness.ts';

let stack: Stack;
let echo: Awaited<ReturnType<typeof startEcho>>;

beforeAll(async () => {
  echo = await startEcho();
  stack = await startStack();
});

afterAll(async () => {
  await stack.close();
  await closeServer(echo.server);
});

const extProcPort = () => Number(stack.extproc.address.split(':')[1]);

it('subscribes as its node, ACKs every type at the served version', async () => {
  const snapshot = await stack.publish(proxyYaml({ upstreamPort: echo.port }));
  const node = stack.xds.registry.get(stack.nodeId)!;
  expect(node.syncedVersion).toBe(snapshot.version);
  expect(Object.keys(node.types).sort()).toEqual(['CDS', 'LDS', 'RDS']);
  for (const t of Object.values(node.types)) expect(t.ackedVersion).toBe(snapshot.version);
  expect((await send(`${stack.baseUrl()}/api/x`)).status).toBe(200);
});

it('NACKs a listener it cannot run, keeps serving the previous config, then ACKs the next good version', async () => {
  const good = await stack.publish(proxyYaml({ upstreamPort: echo.port }));
  const bad = compileYaml({ yaml: proxyYaml({ upstreamPort: echo.port }), extProcPort: extProcPort() });
  const chain = (bad.envoy.listeners[0] as { filter_chains: Array<Record<string, unknown>> }).filter_chains[0]!;
  chain.transport_socket = {
    name: 'envoy.transport_sockets.tls',
    typed_config: { '@type': 'type.googleapis.com/envoy.extensions.transport_sockets.tls.v3.DownstreamTlsContext' },
  };
  bad.version = `${bad.version}-tls`;
  await stack.publishSnapshot(bad, 'nack');
  const lds = stack.xds.registry.get(stack.nodeId)!.types.LDS!;
  // A TLS context without a certificate: Envoy rejects it too.
  expect(lds.lastNack?.message).toMatch(/a downstream TLS context needs a certificate/);
  expect(lds.ackedVersion).toBe(good.version);
  // The running listener is untouched.
  expect((await send(`${stack.baseUrl()}/api/x`)).status).toBe(200);
  const next = await stack.publish(proxyYaml({ basePath: '/next', upstreamPort: echo.port }));
  expect(stack.xds.registry.get(stack.nodeId)!.types.LDS!.ackedVersion).toBe(next.version);
  expect((await send(`${stack.baseUrl()}/next/x`)).status).toBe(200);
});

it('keeps serving while the control plane is gone, reconnects when it is back and converges', async () => {
  await stack.publish(proxyYaml({ basePath: '/before', upstreamPort: echo.port }));
  const port = Number(stack.xdsAddress.split(':')[1]);
  await stack.xds.stop();
  await waitFor(() => stack.xds.registry.get(stack.nodeId) === undefined, 'the node to disconnect');
  for (let i = 0; i < 5; i++) expect((await send(`${stack.baseUrl()}/before/x`)).status).toBe(200);

  const revived = new XdsControlPlane({ log: silentLog });
  await revived.listen({ host: '127.0.0.1', xdsPort: port });
  const newer = compileYaml({
    yaml: proxyYaml({ basePath: '/after', upstreamPort: echo.port }),
    extProcPort: extProcPort(),
  });
  stack.extproc.apply(newer.runtime);
  revived.publish(newer);
  try {
    await waitFor(
      () => appliedEverywhere(revived, stack.nodeId, newer.version),
      'devproxy to converge on the revived control plane',
      20_000,
    );
    expect((await send(`${stack.baseUrl()}/after/x`)).status).toBe(200);
    expect((await send(`${stack.baseUrl()}/before/x`)).status).toBe(404);
  } finally {
    await revived.stop();
  }
});
