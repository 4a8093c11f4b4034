// The operator's spans (docs/operations.md#tracing): one per snapshot rebuild with its compile, SDS
// lookup and publish as children, and one per controller reconcile. Tracing is set once at start
// (--otlp-endpoint); until then `traced` only calls its function: no SDK, no span objects.
import type { Context, Tracing } from '../../lib/tracing.ts';
import { spanStatusError } from '../../lib/tracing.ts';

let tracing: Tracing | undefined;
/** The span synchronous code runs under now (there is no context manager: children of async work are not nested). */
let current: Context | undefined;

/** Turns the operator's spans on (or off, with undefined). */
export function useOperatorTracing(t: Tracing | undefined): void {
  tracing = t;
  current = undefined;
}

/**
 * Runs `fn` in a span named `name`. A synchronous `fn`'s own `traced` calls are its children; an
 * asynchronous one's span ends when its promise settles. A throw or rejection marks the span failed.
 */
export function traced<T>(name: string, attributes: Record<string, string>, fn: () => T): T {
  if (!tracing) return fn();
  const t = tracing;
  const parent = current;
  const span = t.tracer.startSpan(name, { attributes }, parent);
  const fail = (err: unknown) => {
    span.setStatus({ code: spanStatusError, message: err instanceof Error ? err.message : String(err) });
    span.end();
  };
  current = t.withSpan(span, parent);
  let result: T;
  try {
    result = fn();
  } catch (err) {
    fail(err);
    throw err;
  } finally {
    current = parent;
  }
  if (result instanceof Promise) {
    return result.then(
      (value: unknown) => {
        span.end();
        return value;
      },
      (err: unknown) => {
        fail(err);
        throw err;
      },
    ) as T;
  }
  span.end();
  return result;
}
