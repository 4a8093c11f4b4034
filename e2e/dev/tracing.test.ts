// OpenTelemetry tracing end to end (docs/operations.md#tracing): a DataPlane's spec.tracing compiled
// by the real compiler, served over xDS to devproxy (the Envoy stand-in), a real extproc given an
// OTLP endpoint, an echo upstream, and an OTLP receiver started here. One request gives one trace:
// devproxy's request span, its ext_proc stream span, extproc's stream span under that, and one span
// per policy step under extproc's; the upstream gets the request span's traceparent; the access log
// line carries the trace id. Attacks: a collector that accepts connections and never answers delays
// no response, and spans past the bounded queue are dropped and counted.
import { createServer, type Server, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Registry } from 'prom-client';
import { registerTracingMetrics, startTracing, type Tracing } from '../../lib/tracing.ts';
import { StreamTracer } from '../../extproc/src/tracing/stream-tracer.ts';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../env/otlp-receiver.ts';
import {
  closeServer,
  hcmOf,
  pathReady,
  publishEdited,
  send,
  startEcho,
  startStack,
  waitFor,
  type Stack,
} from './harness.ts';

// OTLP SpanKind numbers.
const SERVER = 2;
const CLIENT = 3;
const INTERNAL = 1;

const manifests = (
  upstreamPort: number,
  collector: string,
  samplingPercent = 100,
) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: obs}
spec:
  messageTimeout: 5s
  listeners: [{name: http, port: 8080}]
  tracing: {collector: {address: "${collector}"}, samplingPercent: ${samplingPercent}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: orders, namespace: obs}
spec:
  basePath: /orders
  target: {url: "http://127.0.0.1:${upstreamPort}"}
  flows:
    preFlow:
      request:
        - {policy: mark}
        - {policy: deny, condition: 'request.header.x-deny = "yes"'}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: mark, namespace: obs}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-marked: 'yes'}}}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: deny, namespace: obs}
spec: {type: RaiseFault, raiseFault: {statusCode: 403, payload: {contentType: text/plain, content: denied}}}
`;

/** The spans of one trace, found by the request span's trace id. */
function traceOf(receiver: OtlpReceiver, traceId: string): ReceivedSpan[] {
  return receiver.spans.filter((s) => s.traceId === traceId);
}

describe('a traced request through devproxy and extproc', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  let stack: Stack;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const accessLines: string[] = [];

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    echo = await startEcho();
    tracing = await startTracing({
      endpoint: receiver.address,
      serviceName: 'gatehouse-extproc',
      rootSamplingPercent: 0,
      scheduledDelayMs: 50,
    });
    stack = await startStack({
      extprocTracer: new StreamTracer(tracing),
      traceFlushMs: 50,
      accessLog: (line) => void accessLines.push(line),
    });
    await stack.publish(manifests(echo.port, receiver.address));
    await pathReady(stack);
  });
  afterAll(async () => {
    await stack?.close();
    await tracing?.shutdown();
    if (echo) await closeServer(echo.server);
    await receiver?.close();
  });

  it('makes one trace: request span, ext_proc stream span, extproc stream span, a span per policy step', async () => {
    const reply = await send(`${stack.baseUrl()}/orders/1`);
    expect(reply.status).toBe(200);
    // The upstream got the request span's context (the router's injectContext).
    const upstreamTraceparent = reply.echo?.headers.traceparent ?? '';
    expect(upstreamTraceparent).toMatch(/^00-[0-9a-f]{32}-[0-9a-f]{16}-01$/);
    const [, traceId, parentId] = upstreamTraceparent.split('-');
    await waitFor(() => traceOf(receiver, traceId!).length >= 4, 'four spans of the trace');
    const spans = traceOf(receiver, traceId!);
    const request = spans.find((s) => s.name === 'ingress')!;
    expect(request).toMatchObject({ service: 'gatehouse-envoy', kind: SERVER, parentSpanId: '', spanId: parentId });
    expect(request.attributes).toMatchObject({ 'http.method': 'GET', 'http.status_code': '200', component: 'proxy' });
    const grpc = spans.find((s) => s.name === 'async envoy.service.ext_proc.v3.ExternalProcessor.Process egress')!;
    expect(grpc).toMatchObject({ service: 'gatehouse-envoy', kind: CLIENT, parentSpanId: request.spanId });
    const stream = spans.find((s) => s.name === 'envoy.service.ext_proc.v3.ExternalProcessor/Process')!;
    expect(stream).toMatchObject({ service: 'gatehouse-extproc', kind: SERVER, parentSpanId: grpc.spanId });
    expect(stream.attributes).toMatchObject({
      'gatehouse.proxy': 'obs/orders',
      'gatehouse.stream.outcome': 'completed',
    });
    const mark = spans.find((s) => s.name === 'mark')!;
    expect(mark).toMatchObject({ service: 'gatehouse-extproc', kind: INTERNAL, parentSpanId: stream.spanId });
    expect(mark.attributes).toEqual({
      'gatehouse.policy.name': 'mark',
      'gatehouse.policy.type': 'AssignMessage',
      'gatehouse.policy.outcome': 'continue',
    });
    expect(mark.startNs).toBeLessThanOrEqual(mark.endNs);
    // The step whose condition did not hold made no span.
    expect(spans.filter((s) => s.name === 'deny')).toEqual([]);
    expect(spans.map((s) => s.name).sort()).toEqual([
      'async envoy.service.ext_proc.v3.ExternalProcessor.Process egress',
      'envoy.service.ext_proc.v3.ExternalProcessor/Process',
      'ingress',
      'mark',
    ]);
    // The access log line names the same trace (%TRACE_ID%).
    await waitFor(() => accessLines.some((l) => l.includes(traceId!)), 'the access log line with the trace id');
  });

  it('records a fault on the policy span and the stream span', async () => {
    const reply = await send(`${stack.baseUrl()}/orders/2`, { headers: { 'x-deny': 'yes' } });
    expect(reply.status).toBe(403);
    await waitFor(() => receiver.spans.some((s) => s.name === 'deny'), 'the deny span');
    const deny = receiver.spans.find((s) => s.name === 'deny')!;
    const spans = traceOf(receiver, deny.traceId);
    await waitFor(() => traceOf(receiver, deny.traceId).some((s) => s.name === 'ingress'), 'the request span');
    const faultCode = deny.attributes['gatehouse.fault.code'];
    expect(faultCode).toBeTruthy();
    expect(deny.attributes['gatehouse.policy.outcome']).toBe('fault');
    expect(deny.status.code).toBe(2); // STATUS_CODE_ERROR
    const stream = spans.find((s) => s.spanId === deny.parentSpanId)!;
    expect(stream.attributes['gatehouse.fault.code']).toBe(faultCode);
    const request = traceOf(receiver, deny.traceId).find((s) => s.name === 'ingress')!;
    expect(request.attributes['http.status_code']).toBe('403');
  });

  it("joins a client's sampled trace, and traces nothing of a client's unsampled one", async () => {
    const clientTrace = 'a'.repeat(31) + '1';
    const reply = await send(`${stack.baseUrl()}/orders/3`, {
      headers: { traceparent: `00-${clientTrace}-${'b'.repeat(16)}-01` },
    });
    expect(reply.echo?.headers.traceparent).toMatch(new RegExp(`^00-${clientTrace}-`));
    await waitFor(() => traceOf(receiver, clientTrace).length >= 4, "spans in the client's trace");
    expect(traceOf(receiver, clientTrace).find((s) => s.name === 'ingress')?.parentSpanId).toBe('b'.repeat(16));

    const quiet = 'c'.repeat(31) + '1';
    const unsampled = await send(`${stack.baseUrl()}/orders/4`, {
      headers: { traceparent: `00-${quiet}-${'d'.repeat(16)}-00` },
    });
    // The context still travels (flags 00), but no span is exported.
    expect(unsampled.echo?.headers.traceparent).toMatch(new RegExp(`^00-${quiet}-[0-9a-f]{16}-00$`));
    await tracing.flush();
    await stack.devproxy.proxy.flushTraces();
    expect(traceOf(receiver, quiet)).toEqual([]);
  });
});

describe('tracing config devproxy does not play', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack();
  });
  afterAll(async () => {
    await stack?.close();
  });

  type Tracing = { provider: { typed_config: Record<string, unknown> } } & Record<string, unknown>;
  const edits: Array<[string, (t: Tracing) => void]> = [
    [
      'an HTTP exporter',
      (t) =>
        void (t.provider.typed_config.http_service = { http_uri: { uri: 'http://x', cluster: 'c', timeout: '1s' } }),
    ],
    ['spawn_upstream_span', (t) => void (t.spawn_upstream_span = true)],
    ['custom tags', (t) => void (t.custom_tags = [{ tag: 'x', literal: { value: 'y' } }])],
  ];
  it.each(edits)('is refused (NACK): %s', async (_, edit) => {
    await publishEdited(
      stack,
      manifests(9, '127.0.0.1:4317'),
      (snapshot) => edit(hcmOf(snapshot).tracing as Tracing),
      'nack',
    );
  });
});

/** A collector that accepts connections and never answers (a hung or overloaded one). */
async function startBlackhole(): Promise<{ server: Server; address: string; sockets: Socket[] }> {
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { server, address: `127.0.0.1:${port}`, sockets };
}

describe('a collector that never answers', () => {
  it('delays no response: every request is answered while the exports hang', async () => {
    const hole = await startBlackhole();
    const echo = await startEcho();
    const tracing = await startTracing({
      endpoint: hole.address,
      serviceName: 'gatehouse-extproc',
      rootSamplingPercent: 0,
      scheduledDelayMs: 10,
      exportTimeoutMs: 60_000,
    });
    const stack = await startStack({ extprocTracer: new StreamTracer(tracing), traceFlushMs: 10 });
    try {
      await stack.publish(manifests(echo.port, hole.address));
      await pathReady(stack);
      // Both exporters have connected to the collector and are waiting on it.
      await waitFor(() => hole.sockets.length >= 1, 'an exporter connected to the collector');
      const replies = await Promise.all(Array.from({ length: 20 }, (_, i) => send(`${stack.baseUrl()}/orders/${i}`)));
      expect(replies.map((r) => r.status)).toEqual(replies.map(() => 200));
      // Nothing was exported: the collector holds every export.
      expect(tracing.counters.exported).toBe(0);
    } finally {
      await stack.close();
      void tracing.shutdown();
      for (const s of hole.sockets) s.destroy();
      hole.server.close();
      await closeServer(echo.server);
    }
  });

  it('drops what does not fit the bounded queue, and counts it', async () => {
    const hole = await startBlackhole();
    const tracing = await startTracing({
      endpoint: hole.address,
      serviceName: 'test',
      rootSamplingPercent: 100,
      maxQueueSize: 4,
      scheduledDelayMs: 10,
      exportTimeoutMs: 60_000,
    });
    try {
      for (let i = 0; i < 50; i++) tracing.tracer.startSpan(`s${i}`).end();
      await waitFor(() => tracing.counters.dropped > 0, 'spans dropped');
      expect(tracing.counters.dropped).toBeGreaterThanOrEqual(50 - 2 * 4);
      expect(tracing.counters.exported).toBe(0);
      // What /metrics shows of it.
      const registry = new Registry();
      registerTracingMetrics(registry, 'gatehouse_extproc', tracing.counters);
      expect(await registry.metrics()).toMatch(/gatehouse_extproc_trace_spans_total\{result="dropped"\} [1-9]/);
    } finally {
      void tracing.shutdown();
      for (const s of hole.sockets) s.destroy();
      hole.server.close();
    }
  });
});
