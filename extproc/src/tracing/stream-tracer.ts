// extproc's spans (docs/operations.md#tracing): one per ext_proc stream, a child of the span Envoy's
// gRPC client made for the stream (its `traceparent` comes in the stream's gRPC metadata, as Envoy's
// AsyncStreamImpl injects it), and one per policy step, a child of the stream's. Sampling is
// parent-based with no root: extproc never starts a trace, and a parent that is not sampled costs one
// string test here and no span object. Steps are recorded when they end (the engine times them), so a
// step is one span made after the fact, with its start and end.
import type { Context, Span, Tracing } from '../../../lib/tracing.ts';
import { spanKind, spanStatusError } from '../../../lib/tracing.ts';
import type { StepOutcome } from '../flow/exchange.ts';

/** The gRPC method Envoy calls; the stream span is its server side. */
export const streamSpanName = 'envoy.service.ext_proc.v3.ExternalProcessor/Process';

/** A W3C traceparent whose sampled flag is set (the last two hex digits, bit 0). */
function sampled(traceparent: string | undefined): boolean {
  if (traceparent === undefined || traceparent.length < 55) return false;
  const flags = Number.parseInt(traceparent.slice(53, 55), 16);
  return (flags & 1) === 1;
}

export interface StreamEnd {
  proxy: string;
  requestId: string;
  outcome: string;
  app?: string | undefined;
  faultCode?: string | undefined;
}

export class StreamTracer {
  private readonly tracing: Tracing;

  constructor(tracing: Tracing) {
    this.tracing = tracing;
  }

  /** The stream's trace when its parent is sampled; else undefined, and nothing is made. */
  start(traceparent: string | undefined, tracestate: string | undefined): StreamTrace | undefined {
    if (!sampled(traceparent)) return undefined;
    const parent = this.tracing.parent(traceparent, tracestate);
    if (!parent) return undefined;
    const span = this.tracing.tracer.startSpan(
      streamSpanName,
      {
        kind: spanKind.server,
        attributes: {
          'rpc.system': 'grpc',
          'rpc.service': 'envoy.service.ext_proc.v3.ExternalProcessor',
          'rpc.method': 'Process',
        },
      },
      parent,
    );
    return new StreamTrace(this.tracing, span, this.tracing.withSpan(span, parent));
  }
}

export class StreamTrace {
  private readonly tracing: Tracing;
  private readonly span: Span;
  private readonly context: Context;

  constructor(tracing: Tracing, span: Span, context: Context) {
    this.tracing = tracing;
    this.span = span;
    this.context = context;
  }

  /** A policy step ended `seconds` after it started: its span, named after the policy. */
  step(type: string, outcome: StepOutcome, seconds: number, policy: string, errorCode: string | undefined): void {
    const end = performance.timeOrigin + performance.now();
    const span = this.tracing.tracer.startSpan(
      policy,
      {
        kind: spanKind.internal,
        startTime: end - seconds * 1000,
        attributes: {
          'gatehouse.policy.name': policy,
          'gatehouse.policy.type': type,
          'gatehouse.policy.outcome': outcome,
          ...(errorCode !== undefined ? { 'gatehouse.fault.code': errorCode } : {}),
        },
      },
      this.context,
    );
    if (outcome === 'fault') span.setStatus({ code: spanStatusError, message: errorCode ?? 'fault' });
    span.end(end);
  }

  /** The stream is over (after postClientFlow). */
  end(info: StreamEnd): void {
    const attributes: Record<string, string> = {
      'gatehouse.request.id': info.requestId,
      'gatehouse.stream.outcome': info.outcome,
    };
    if (info.proxy) attributes['gatehouse.proxy'] = info.proxy;
    if (info.app) attributes['gatehouse.app'] = info.app;
    if (info.faultCode) attributes['gatehouse.fault.code'] = info.faultCode;
    this.span.setAttributes(attributes);
    if (info.outcome === 'internal_error' || info.outcome === 'protocol_error')
      this.span.setStatus({ code: spanStatusError, message: info.outcome });
    this.span.end();
  }
}
