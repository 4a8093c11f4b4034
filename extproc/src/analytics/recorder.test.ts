// The analytics recorder's bounds (docs/operations.md#analytics): a queue per sink that drops and
// counts past its size, a sink that cannot start leaves analytics off (never the data plane), bad TLS
// material refused, and an unchanged configuration keeps its sinks.
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterEach, describe, expect, it } from 'vitest';
import type { Analytics__Output } from '../../../protos/gen/gatehouse/v1/Analytics.ts';
import { AnalyticsRecorder, analyticsCounters } from './recorder.ts';
import type { AnalyticsRecord } from './record.ts';

const config = (c: Partial<Analytics__Output>): Analytics__Output => ({
  queueSize: 0,
  batchSize: 0,
  flushIntervalMs: 0,
  otlp: null,
  file: null,
  http: null,
  ...c,
});
const record = (i: number) => ({ apiproxy: 'shop/orders', request_id: `r${i}` }) as unknown as AnalyticsRecord;

const open: AnalyticsRecorder[] = [];
function recorder() {
  const counters = analyticsCounters(new Registry());
  const r = new AnalyticsRecorder({ log: pino({ level: 'silent' }), counters });
  open.push(r);
  return { r, counters };
}
afterEach(async () => {
  for (const r of open.splice(0)) await r.close();
});

describe('AnalyticsRecorder', () => {
  it('writes records as JSON lines, and keeps its sinks when the configuration does not change', async () => {
    const { r } = recorder();
    const path = join(mkdtempSync(join(tmpdir(), 'gh-ax-unit-')), 'a.jsonl');
    const c = config({ flushIntervalMs: 60_000, file: { path } });
    await r.configure(c, {});
    r.record(record(1));
    await r.configure(config({ flushIntervalMs: 60_000, file: { path } }), {});
    r.record(record(2));
    await r.flush();
    expect(
      readFileSync(path, 'utf8')
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { request_id: string }).request_id),
    ).toEqual(['r1', 'r2']);
  });

  it('drops and counts past the queue of a hung sink; memory stays at the queue size', async () => {
    const sockets: Socket[] = [];
    const hung = createServer((s) => void sockets.push(s));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    try {
      const { r, counters } = recorder();
      const port = (hung.address() as { port: number }).port;
      await r.configure(
        config({
          queueSize: 5,
          batchSize: 2,
          flushIntervalMs: 60_000,
          http: { url: `http://127.0.0.1:${port}/`, headerSecrets: {} },
        }),
        {},
      );
      for (let i = 0; i < 50; i++) r.record(record(i));
      expect(r.queued().http).toBeLessThanOrEqual(5);
      const dropped = (await counters.dropped.get()).values.find((v) => v.labels.reason === 'queue_full')?.value ?? 0;
      // One batch of 2 is in flight to the hung sink, 5 wait: the other 43 are dropped.
      expect(dropped).toBe(43);
    } finally {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => hung.close(() => resolve()));
    }
  });

  it('a sink that cannot start leaves analytics off; recording is then a no-op', async () => {
    const { r } = recorder();
    await r.configure(config({ file: { path: '/nonexistent-dir/x/a.jsonl' } }), {});
    expect(r.enabled).toBe(false);
    expect(() => r.record(record(1))).not.toThrow();
    await r.configure(
      config({
        otlp: {
          endpoint: '127.0.0.1:1',
          insecure: false,
          caSecret: 'ns/ca/ca.crt',
          certSecret: '',
          keySecret: '',
          serverName: '',
        },
      }),
      { 'ns/ca/ca.crt': 'not a certificate' },
    );
    expect(r.enabled).toBe(false);
    await r.configure(undefined, {});
    expect(r.enabled).toBe(false);
  });
});
