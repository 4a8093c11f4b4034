// Upstream TLS from the UpstreamTlsContext the compiler emits, served by the real xDS server: SNI,
// subject-alt-name verification against a trusted CA, and protocol version bounds. The test CA is
// put inline in the cluster (the compiled config points at the system trust store file).
import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createCa, createServingCert } from '../../../e2e/env/pki.ts';
import {
  closeServer,
  compileYaml,
  pathReady,
  send,
  startStack,
  withGenerousDataPlane,
  type Stack,
} from '../../../e2e/dev/harness.ts';

let stack: Stack;
let upstream: Server;
const sniSeen: string[] = [];

function trustInline(snapshot: ReturnType<typeof compileYaml>, caPem: string): void {
  for (const c of snapshot.envoy.clusters as Array<{
    transport_socket?: { typed_config: { common_tls_context: { validation_context?: { trusted_ca: unknown } } } };
  }>) {
    const v = c.transport_socket?.typed_config.common_tls_context.validation_context;
    if (v) v.trusted_ca = { inline_string: caPem };
  }
  snapshot.version = `${snapshot.version}-inline-ca`;
}

beforeAll(async () => {
  const ca = await createCa('devproxy test CA');
  const leaf = await createServingCert(ca, 'echo.test', { dns: ['echo.test'], ip: ['127.0.0.1'] });
  upstream = createServer({ cert: leaf.cert, key: leaf.key, maxVersion: 'TLSv1.2' }, (req, res) => {
    res.end(JSON.stringify({ path: req.url }));
  });
  upstream.on('secureConnection', (s: { servername?: string }) => sniSeen.push(s.servername ?? ''));
  upstream.listen(0, '127.0.0.1');
  await once(upstream, 'listening');
  const port = (upstream.address() as { port: number }).port;
  stack = await startStack();
  const proxy = (name: string, tls: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: test}
spec:
  basePath: /${name}
  target: {url: "https://127.0.0.1:${port}", tls: ${tls}}
`;
  const snapshot = compileYaml({
    yaml: withGenerousDataPlane(
      [
        proxy('good', '{sni: echo.test}'),
        proxy('wrong-name', '{sni: other.test}'),
        proxy('too-new', '{sni: echo.test, minVersion: TLSv1.3}'),
      ].join('---\n'),
    ),
    extProcPort: Number(stack.extproc.address.split(':')[1]),
  });
  trustInline(snapshot, ca.cert);
  await stack.publishSnapshot(snapshot, 'ack');
  await pathReady(stack);
});

afterAll(async () => {
  await stack.close();
  await closeServer(upstream);
});

it('connects with the SNI and verifies the certificate against the CA and SAN', async () => {
  const r = await send(`${stack.baseUrl()}/good/x`);
  expect(r.status).toBe(200);
  expect(JSON.parse(r.body)).toEqual({ path: '/x' });
  expect(sniSeen).toContain('echo.test');
});

it('refuses a certificate whose SANs do not match (503)', async () => {
  const r = await send(`${stack.baseUrl()}/wrong-name/x`);
  expect(r.status).toBe(503);
  expect(r.body).toMatch(/upstream connect error/);
});

it('refuses an upstream below the minimum TLS version (503)', async () => {
  expect((await send(`${stack.baseUrl()}/too-new/x`)).status).toBe(503);
});
