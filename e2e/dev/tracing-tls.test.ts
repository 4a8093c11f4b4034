// Tracing over TLS to the collector (docs/operations.md#tracing): a DataPlane's spec.tracing.tls
// compiled into the collector cluster's UpstreamTlsContext (CA over SDS from a Secret, the server name
// checked), devproxy exporting over it, and extproc's exporter given the CA as a file
// (--otlp-tls-ca); an OTLP receiver serving a certificate issued here gets both planes' spans. Attack:
// a collector whose certificate another CA issued gets nothing, and requests are answered as before.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../lib/tracing.ts';
import { startClientTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { StreamTracer } from '../../extproc/src/tracing/stream-tracer.ts';
import { createCa, createServingCert } from '../env/pki.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../env/otlp-receiver.ts';
import { publishToStack } from '../tls/fixtures.ts';
import { closeServer, send, startEcho, startStack, waitFor, type Stack } from './harness.ts';

const serverName = 'collector.tls-test';

const manifests = (upstreamPort: number, collector: string, ca: string) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: otls}
spec:
  messageTimeout: 5s
  listeners: [{name: http, port: 8080}]
  tracing:
    collector: {address: "${collector}"}
    tls: {caSecretRef: {name: otel-ca}, serverName: ${serverName}}
---
apiVersion: v1
kind: Secret
metadata: {name: otel-ca, namespace: otls}
stringData: {ca.crt: ${JSON.stringify(ca)}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: otls-orders, namespace: otls}
spec:
  basePath: /otls-orders
  target: {url: "http://127.0.0.1:${upstreamPort}"}
  flows: {preFlow: {request: [{policy: otls-mark}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: otls-mark, namespace: otls}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-marked: 'yes'}}}}
`;

interface Setup {
  receiver: OtlpReceiver;
  tracing: Tracing;
  stack: Stack;
  close(): Promise<void>;
}

/** A TLS receiver with a certificate of `issuer`, and a stack whose DataPlane and extproc trust `trusted`. */
async function setup(echoPort: number, issuer: Awaited<ReturnType<typeof createCa>>, trusted: string): Promise<Setup> {
  const leaf = await createServingCert(issuer, serverName, { dns: [serverName], ip: ['127.0.0.1'] });
  const receiver = await startOtlpReceiver(leaf);
  const caFile = join(mkdtempSync(join(tmpdir(), 'gh-otls-')), 'ca.crt');
  writeFileSync(caFile, trusted);
  const tls = startClientTls({ caFile }, pino({ level: 'silent' }), 'OTLP collector');
  const tracing = await startTracing({
    endpoint: receiver.address,
    serviceName: 'gatehouse-extproc',
    rootSamplingPercent: 0,
    scheduledDelayMs: 50,
    exportTimeoutMs: 2000,
    credentials: grpcChannelCredentials({ ...tls.options, serverName }),
  });
  const stack = await startStack({ extprocTracer: new StreamTracer(tracing), traceFlushMs: 50 });
  // The Secret's CA reaches devproxy over SDS.
  await publishToStack(stack, manifests(echoPort, receiver.address, trusted));
  return {
    receiver,
    tracing,
    stack,
    close: async () => {
      await stack.close();
      await tracing.shutdown();
      tls.watcher.close();
      await receiver.close();
    },
  };
}

describe('tracing over TLS to the collector', () => {
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let ca: Awaited<ReturnType<typeof createCa>>;
  let other: Awaited<ReturnType<typeof createCa>>;
  const open: Setup[] = [];

  beforeAll(async () => {
    echo = await startEcho();
    ca = await createCa('otls collector CA');
    other = await createCa('otls intercepting CA');
  });
  afterAll(async () => {
    for (const s of open) await s.close();
    if (echo) await closeServer(echo.server);
  });

  it("a collector with a certificate of the Secret's CA gets Envoy's and extproc's spans", async () => {
    const s = await setup(echo.port, ca, ca.cert);
    open.push(s);
    const reply = await send(`${s.stack.baseUrl()}/otls-orders/1`);
    expect(reply.status).toBe(200);
    const traceId = (reply.echo?.headers.traceparent ?? '').split('-')[1]!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    await waitFor(
      () =>
        s.receiver.spans.some((x) => x.traceId === traceId && x.service === 'gatehouse-envoy') &&
        s.receiver.spans.some((x) => x.traceId === traceId && x.service === 'gatehouse-extproc'),
      "both planes' spans over TLS",
      30_000,
    );
    expect(s.receiver.spans.filter((x) => x.traceId === traceId).map((x) => x.name)).toContain('otls-mark');
  });

  it('a collector whose certificate another CA issued gets nothing; requests are answered as before', async () => {
    // The receiver's certificate is the other CA's; the DataPlane and extproc trust only `ca`.
    const s = await setup(echo.port, other, ca.cert);
    open.push(s);
    for (let i = 0; i < 3; i++) {
      const reply = await send(`${s.stack.baseUrl()}/otls-orders/${i}`);
      expect(reply.status).toBe(200);
      expect(reply.echo?.headers['x-marked']).toBe('yes');
    }
    await waitFor(() => s.tracing.counters.failed > 0, "extproc's export to fail", 30_000);
    await s.tracing.flush();
    await s.stack.devproxy.proxy.flushTraces();
    expect(s.receiver.spans).toEqual([]);
  });
});
