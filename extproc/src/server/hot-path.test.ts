// The framework's hot-path shortcuts keep what they replace (docs/architecture.md#the-hot-path): the
// replies the http2 transport encodes without fromObject decode to the same messages, and the metric
// series updated in place export the same /metrics text as prom-client's own inc/observe.
import fc from 'fast-check';
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { envoy } from '../../../protos/gen/extproc/codecs.js';
import { createResponseMessage } from '../flow/message.ts';
import { processCodec, wireReply } from './http2-transport.ts';
import { CounterSeries, ExtprocMetrics, HistogramSeries } from './metrics.ts';
import { RequestContext } from './request-context.ts';
import { immediateResponse, headerMutation } from './translate.ts';
import type { ProcessingResponse } from './envoy-proto.ts';
import { pino } from 'pino';

const Response = envoy.service.ext_proc.v3.ProcessingResponse;
const decoded = (encoded: Uint8Array | readonly Uint8Array[]) =>
  Response.toObject(Response.decode(encoded instanceof Uint8Array ? encoded : Buffer.concat(encoded)), {
    enums: String,
    bytes: String,
    defaults: true,
    oneofs: true,
  });
const viaFromObject = (m: ProcessingResponse) => Response.encode(Response.fromObject(m)).finish();

const metadata = () => {
  const context = new RequestContext(pino({ level: 'silent' }), 'req-1', undefined);
  context.resolved('ns/proxy');
  context.app = 'app';
  return context.dynamicMetadata();
};

const replies: ProcessingResponse[] = [
  { requestHeaders: {} },
  { responseHeaders: {}, dynamicMetadata: metadata() },
  { requestBody: { response: { bodyMutation: { body: Buffer.from('{"a":1}') } } } },
  {
    requestHeaders: {
      response: {
        headerMutation: headerMutation(
          {
            set: [
              { name: 'x-one', value: 'é', append: false },
              { name: 'set-cookie', value: 'b=2', append: true },
            ],
            remove: ['x-gone'],
          },
          [[':path', '/new?q=1']],
          true,
        ),
        bodyMutation: { body: Buffer.from('new') },
        status: 'CONTINUE_AND_REPLACE',
      },
    },
    dynamicMetadata: metadata(),
  },
  { responseHeaders: { response: { status: 'CONTINUE' } } },
  {
    immediateResponse: immediateResponse(
      createResponseMessage({
        status: 429,
        headers: [
          ['content-type', 'application/json'],
          ['set-cookie', 'a=1'],
          ['set-cookie', 'b=2'],
        ],
        body: Buffer.from('{"fault":{}}'),
      }),
      'gatehouse_fault{policies.ratelimit.QuotaViolation}',
    ),
    dynamicMetadata: metadata(),
  },
];

describe('the http2 transport encodes replies without fromObject', () => {
  it.each(replies.map((r, i) => [i, r] as const))(
    'reply %i decodes to what fromObject would have sent',
    (_i, reply) => {
      expect(wireReply(reply)).not.toBeTypeOf('symbol');
      expect(decoded(processCodec.encode(reply))).toEqual(decoded(viaFromObject(reply)));
    },
  );

  it('leaves the caller’s reply unchanged', () => {
    const reply = replies[3]!;
    const before = JSON.stringify(reply);
    processCodec.encode(reply);
    expect(JSON.stringify(reply)).toBe(before);
  });

  it('hands a shape it does not know (an override, an unknown append action, a trailer mutation) to fromObject', () => {
    const odd: ProcessingResponse[] = [
      { requestHeaders: {}, modeOverride: { responseBodyMode: 'BUFFERED' } },
      {
        requestHeaders: {
          response: {
            headerMutation: {
              setHeaders: [{ header: { key: 'x', rawValue: Buffer.from('1') }, appendAction: 'NOPE' as never }],
            },
          },
        },
      },
      { requestTrailers: { headerMutation: { removeHeaders: ['x'] } } },
    ];
    for (const reply of odd) {
      expect(wireReply(reply)).toBeTypeOf('symbol');
      expect(decoded(processCodec.encode(reply))).toEqual(decoded(viaFromObject(reply)));
    }
  });

  it('keeps every field of a header option it converts (keepEmptyValue, each append action, none)', () => {
    const header = (key: string) => ({ key, rawValue: Buffer.from('') });
    const reply: ProcessingResponse = {
      requestHeaders: {
        response: {
          headerMutation: {
            setHeaders: [
              { header: header('a'), append: { value: false }, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
              { header: header('b'), keepEmptyValue: true, appendAction: 'ADD_IF_ABSENT' },
              { header: header('c'), append: { value: true }, appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
              { header: header('d'), keepEmptyValue: true },
            ],
          },
        },
      },
    };
    expect(wireReply(reply)).not.toBeTypeOf('symbol');
    expect(decoded(processCodec.encode(reply))).toEqual(decoded(viaFromObject(reply)));
  });

  it('encodes any header change as fromObject does (property)', () => {
    const header = fc.record({
      name: fc.stringMatching(/^[a-z][a-z0-9-]{0,12}$/),
      value: fc.string({ maxLength: 20 }),
      append: fc.boolean(),
    });
    fc.assert(
      fc.property(
        fc.array(header, { maxLength: 6 }),
        fc.array(fc.stringMatching(/^[a-z]{1,8}$/), { maxLength: 3 }),
        fc.boolean(),
        (set, remove, body) => {
          const reply: ProcessingResponse = {
            responseHeaders: {
              response: {
                headerMutation: headerMutation({ set, remove }, [], body),
                ...(body ? { bodyMutation: { body: Buffer.from('x') }, status: 'CONTINUE_AND_REPLACE' as const } : {}),
              },
            },
            dynamicMetadata: metadata(),
          };
          expect(decoded(processCodec.encode(reply))).toEqual(decoded(viaFromObject(reply)));
        },
      ),
    );
  });
});

describe('metric series updated in place', () => {
  const buckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25];
  const pair = () => {
    const make = () => {
      const registry = new Registry();
      return {
        registry,
        h: new Histogram({ name: 'h', help: 'h', labelNames: ['proxy', 'phase'], buckets, registers: [registry] }),
        c: new Counter({ name: 'c', help: 'c', labelNames: ['outcome'], registers: [registry] }),
        g: new Gauge({ name: 'g', help: 'g', registers: [registry] }),
      };
    };
    return [make(), make()] as const;
  };

  it('export exactly what prom-client’s own calls export, resets included (property)', async () => {
    const values = fc.oneof(
      fc.double({ min: 0, max: 1, noNaN: true }),
      fc.constantFrom(...buckets),
      fc.constant(0),
      fc.constant(10),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.constantFrom('a', 'b'), fc.constantFrom('requestHeaders', 'responseHeaders'), values), {
          maxLength: 40,
        }),
        fc.nat({ max: 40 }),
        async (observations, resetAt) => {
          const [own, fast] = pair();
          const series = new Map<string, HistogramSeries>();
          const outcome = new CounterSeries(fast.c, { outcome: 'completed' });
          const active = new CounterSeries(fast.g);
          observations.forEach(([proxy, phase, v], i) => {
            if (i === resetAt)
              for (const m of [own, fast]) {
                m.h.reset();
                m.c.reset();
                m.g.reset();
              }
            own.h.observe({ proxy, phase }, v);
            own.c.inc({ outcome: 'completed' });
            own.g.inc();
            if (i % 3 === 0) own.g.dec();
            const key = `${proxy} ${phase}`;
            if (!series.has(key)) series.set(key, new HistogramSeries(fast.h, { proxy, phase }));
            series.get(key)!.observe(v);
            outcome.inc();
            active.inc();
            if (i % 3 === 0) active.dec();
          });
          expect(await fast.registry.metrics()).toBe(await own.registry.metrics());
        },
      ),
    );
  });

  it('refuses what prom-client refuses (a value that is not a number, a wrong label)', () => {
    const [, fast] = pair();
    expect(() => new HistogramSeries(fast.h, { proxy: 'a', phase: 'x' }).observe(Number.NaN)).toThrow(
      /not a valid number/,
    );
    expect(() => new HistogramSeries(fast.h, { nope: 'a' }).observe(1)).toThrow();
  });

  it('ExtprocMetrics’ stream and phase figures read as before', async () => {
    const m = new ExtprocMetrics();
    m.streamOpened();
    m.streamOpened();
    m.streamEnded('completed');
    const label = m.proxyRequest('ns/p');
    m.observePhase('requestHeaders', 0.0003);
    m.observeProxyPhase(label, 'requestHeaders', 0.0003);
    m.observePolicy('VerifyAPIKey', 'continue', 0.002);
    const text = await m.registry.metrics();
    expect(text).toContain('gatehouse_extproc_active_streams 1\n');
    expect(text).toContain('gatehouse_extproc_streams_total{outcome="completed"} 1\n');
    expect(text).toContain('gatehouse_extproc_proxy_requests_total{proxy="ns/p"} 1\n');
    expect(text).toContain('gatehouse_extproc_phase_duration_seconds_bucket{le="0.0005",phase="requestHeaders"} 1\n');
    expect(text).toContain('gatehouse_extproc_phase_duration_seconds_bucket{le="0.00025",phase="requestHeaders"} 0\n');
    expect(text).toContain(
      'gatehouse_extproc_proxy_phase_duration_seconds_count{proxy="ns/p",phase="requestHeaders"} 1\n',
    );
    expect(text).toContain(
      'gatehouse_extproc_policy_duration_seconds_bucket{le="0.0025",type="VerifyAPIKey",outcome="continue"} 1\n',
    );
  });
});

describe('the dynamic metadata of replies', () => {
  it('is one frozen object per value, shared by streams, and follows what the stream learns', () => {
    const log = pino({ level: 'silent' });
    const a = new RequestContext(log, 'a', undefined);
    const b = new RequestContext(log, 'b', undefined);
    a.resolved('ns/p');
    b.resolved('ns/p');
    const first = a.dynamicMetadata();
    expect(b.dynamicMetadata()).toBe(first);
    expect(Object.isFrozen(first.fields!.gatehouse!.structValue!.fields)).toBe(true);
    a.app = 'app';
    a.faultCode = 'policies.ratelimit.QuotaViolation';
    expect(a.dynamicMetadata()).toEqual({
      fields: {
        gatehouse: {
          structValue: {
            fields: {
              proxy: { stringValue: 'ns/p' },
              app: { stringValue: 'app' },
              fault_code: { stringValue: 'policies.ratelimit.QuotaViolation' },
            },
          },
        },
      },
    });
    expect(b.dynamicMetadata()).toBe(first);
  });

  it('stays right past its bound: a client cycling through thousands of apps gets its own metadata', () => {
    const log = pino({ level: 'silent' });
    const seen = new Set<object>();
    for (let i = 0; i < 10_000; i++) {
      const context = new RequestContext(log, String(i), undefined);
      context.resolved('ns/many');
      context.app = `app-${i}`;
      const metadata = context.dynamicMetadata();
      seen.add(metadata);
      expect(metadata.fields!.gatehouse!.structValue!.fields!.app).toEqual({ stringValue: `app-${i}` });
    }
    expect(seen.size).toBe(10_000);
  });
});
