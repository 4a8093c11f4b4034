// A busy Envoy connection is never cut by extproc's HTTP/2 server (extproc/src/server/stream-resets.ts):
// Envoy resets every ext_proc stream when it closes it, and Node's default rapid-reset limit (a burst
// of 1,000 RST_STREAM frames, then 33 a second) ended such a connection with INTERNAL_ERROR, failing
// every stream in flight on it. Here one connection carries 2,500 exchanges played as Envoy plays
// them (devproxy's exchange: close, then reset), several at a time: every one completes.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createExtProcClient, type ExternalProcessorClient } from '../../devproxy/src/ext-proc/client.ts';
import { runExtProcExchange } from '../../devproxy/src/ext-proc/exchange.ts';
import { startTestServer, type TestServer } from '../../extproc/src/server/test-server.test-support.ts';
import { compile } from '../../operator/src/compile/compile.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';
import { TRANSPORTS } from '../../extproc/src/server/transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const manifests = `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: busy, namespace: load}
spec:
  basePath: /busy
  target: {url: "http://10.0.0.9"}
  flows: {preFlow: {request: [{policy: tag}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: tag, namespace: load}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-tag: one}}}}
`;

  let server: TestServer;
  let client: ExternalProcessorClient;

  beforeAll(async () => {
    const { objects } = parseManifests(manifests, 'busy.yaml');
    const result = compile(objects, { credentialHashKey: 'k' });
    expect(result.errors).toEqual([]);
    server = await startTestServer({ transport, snapshot: result.snapshot.runtime });
    client = createExtProcClient(server.address);
  });

  afterAll(async () => {
    client.close();
    await server?.close();
  });

  describe("extproc under Envoy's stream resets", () => {
    it('completes 2,500 exchanges over one connection, each closed and reset as Envoy does', async () => {
      const total = 2_500;
      let next = 0;
      const outcomes = new Map<string, number>();
      const one = async () => {
        const result = await runExtProcExchange({
          client,
          route: 'load/busy',
          timeoutMs: 30_000,
          request: { method: 'GET', path: '/busy/x', authority: 'api.test', headers: [] },
          upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
        });
        const key = result.failure ? `failure: ${String(result.failure)}` : String(result.response.status);
        outcomes.set(key, (outcomes.get(key) ?? 0) + 1);
      };
      await Promise.all(
        Array.from({ length: 8 }, async () => {
          while (next++ < total) await one();
        }),
      );
      expect(Object.fromEntries(outcomes)).toEqual({ 200: total });
    }, 120_000);
  });
});
