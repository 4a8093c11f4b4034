// The operator's spans reach an OTLP receiver: a folder operator's snapshot rebuild with its compile
// and publish as children, and a work queue's reconcile (failed reconciles marked so). Without
// tracing, `traced` only runs its function.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTracing, type Tracing } from '../../lib/tracing.ts';
import { startOtlpReceiver, type OtlpReceiver } from '../../e2e/env/otlp-receiver.ts';
import { waitFor } from '../../e2e/dev/harness.ts';
import { WorkQueue } from './kube/workqueue.ts';
import { startFolderOperator } from './main.ts';
import { traced, useOperatorTracing } from './tracing.ts';

const log = pino({ level: 'silent' });

describe('operator tracing', () => {
  let receiver: OtlpReceiver;
  let tracing: Tracing;
  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    tracing = await startTracing({
      endpoint: receiver.address,
      serviceName: 'gatehouse-operator',
      rootSamplingPercent: 100,
      scheduledDelayMs: 20,
    });
  });
  afterAll(async () => {
    useOperatorTracing(undefined);
    await tracing?.shutdown();
    await receiver?.close();
  });

  it('without tracing, traced only runs the function', () => {
    useOperatorTracing(undefined);
    expect(traced('x', {}, () => 42)).toBe(42);
    expect(() =>
      traced('x', {}, () => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
  });

  it('a snapshot rebuild is a span with compile and publish as its children', async () => {
    useOperatorTracing(tracing);
    const dir = mkdtempSync(join(tmpdir(), 'gh-trace-'));
    writeFileSync(
      join(dir, 'proxy.yaml'),
      'apiVersion: gatehouse.dev/v1alpha1\nkind: ApiProxy\nmetadata: {name: a, namespace: shop}\nspec: {basePath: /a, target: {url: "http://127.0.0.1:9090"}}\n',
    );
    const operator = await startFolderOperator({ manifests: dir, host: '127.0.0.1', xdsPort: 0, log });
    try {
      await waitFor(() => receiver.spans.some((s) => s.name === 'snapshot rebuild'), 'a rebuild span');
      const rebuild = receiver.spans.find((s) => s.name === 'snapshot rebuild')!;
      await waitFor(
        () => receiver.spans.filter((s) => s.parentSpanId === rebuild.spanId).length >= 2,
        'the rebuild children',
      );
      const children = receiver.spans.filter((s) => s.parentSpanId === rebuild.spanId);
      expect(children.map((s) => s.name).sort()).toEqual(['compile', 'publish']);
      expect(children.every((s) => s.traceId === rebuild.traceId && s.service === 'gatehouse-operator')).toBe(true);
      expect(children.find((s) => s.name === 'compile')?.attributes['gatehouse.objects']).toBe('1');
    } finally {
      await operator.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a reconcile is a span; one that throws is marked failed', async () => {
    useOperatorTracing(tracing);
    const queue = new WorkQueue<string>({ name: 'tracing-test' });
    let calls = 0;
    queue.run(async (key) => {
      calls++;
      if (key === 'bad' && calls < 3) throw new Error('not yet');
      await Promise.resolve();
    });
    queue.add('good');
    queue.add('bad');
    await waitFor(
      () => receiver.spans.filter((s) => s.name === 'reconcile tracing-test').length >= 3,
      'reconcile spans',
      20_000,
    );
    await queue.shutDown();
    const spans = receiver.spans.filter((s) => s.name === 'reconcile tracing-test');
    expect(spans.some((s) => s.attributes['gatehouse.key'] === 'good' && s.status.code === 0)).toBe(true);
    expect(spans.some((s) => s.attributes['gatehouse.key'] === 'bad' && s.status.code === 2)).toBe(true);
  });
});
