// StreamTracer against a recording Tracing: a stream whose parent is not sampled (flags 00), has no
// traceparent or a malformed one makes no span; a sampled one makes the stream span and a span per
// step with the step's start and end, fault code and error status.
import { describe, expect, it } from 'vitest';
import type { Tracing } from '../../../lib/tracing.ts';
import { StreamTracer, streamSpanName } from './stream-tracer.ts';

interface Made {
  name: string;
  options: { startTime?: number; attributes?: Record<string, unknown> };
  ended?: number | undefined;
  status?: { code: number; message?: string };
  attributes: Record<string, unknown>;
}

function recording(): { tracing: Tracing; made: Made[] } {
  const made: Made[] = [];
  const tracing = {
    tracer: {
      startSpan(name: string, options: Made['options']) {
        const m: Made = { name, options, attributes: {} };
        made.push(m);
        return {
          setStatus: (s: Made['status']) => void (m.status = s),
          setAttributes: (a: Record<string, unknown>) => void Object.assign(m.attributes, a),
          end: (t?: number) => void (m.ended = t ?? -1),
        };
      },
    },
    parent: (tp: string | undefined) => (tp && /^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$/.test(tp) ? {} : undefined),
    withSpan: () => ({}),
  } as unknown as Tracing;
  return { tracing, made };
}

const tp = (flags: string) => `00-${'1'.repeat(32)}-${'2'.repeat(16)}-${flags}`;

describe('StreamTracer', () => {
  it('makes nothing for a parent that is not sampled, absent or malformed', () => {
    const { tracing, made } = recording();
    const tracer = new StreamTracer(tracing);
    for (const parent of [tp('00'), undefined, '', 'garbage', `${tp('01')}x`, '00-zz-01'])
      expect(tracer.start(parent, undefined)).toBeUndefined();
    expect(made).toEqual([]);
  });

  it('spans a sampled stream and each step, a fault with its code and an error status', () => {
    const { tracing, made } = recording();
    const trace = new StreamTracer(tracing).start(tp('01'), undefined)!;
    trace.step('AssignMessage', 'continue', 0.002, 'mark', undefined);
    trace.step('RaiseFault', 'fault', 0.001, 'deny', 'RaiseFault');
    trace.end({ proxy: 'ns/p', requestId: 'r-1', outcome: 'immediate_response', faultCode: 'RaiseFault' });
    expect(made.map((m) => m.name)).toEqual([streamSpanName, 'mark', 'deny']);
    const [stream, mark, deny] = made as [Made, Made, Made];
    expect(mark.ended! - mark.options.startTime!).toBeCloseTo(2, 5);
    expect(mark.options.attributes).toEqual({
      'gatehouse.policy.name': 'mark',
      'gatehouse.policy.type': 'AssignMessage',
      'gatehouse.policy.outcome': 'continue',
    });
    expect(deny.options.attributes?.['gatehouse.fault.code']).toBe('RaiseFault');
    expect(deny.status?.code).toBe(2);
    expect(stream.attributes).toEqual({
      'gatehouse.request.id': 'r-1',
      'gatehouse.stream.outcome': 'immediate_response',
      'gatehouse.proxy': 'ns/p',
      'gatehouse.fault.code': 'RaiseFault',
    });
    expect(stream.ended).toBe(-1);
  });
});
