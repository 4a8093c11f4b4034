// Kubernetes Events (events.k8s.io/v1), the way client-go's events broadcaster writes them: fire and
// forget (a failed write is logged, never thrown), and a repeat of the same event within 6 minutes is
// folded into the first one's `series {count, lastObservedTime}` with a merge patch, so a hot loop does
// not flood etcd. Writes go out one at a time in order; the pending queue and the dedup map are bounded.
import type { Logger } from '../../../lib/log.ts';
import { isNotFound } from './errors.ts';
import { microTime, resourcePath, type KubeRest } from './rest.ts';

export interface EventTarget {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export type EventType = 'Normal' | 'Warning';

export interface EventRecorderOptions {
  rest: KubeRest;
  /** reportingController, e.g. "gatehouse.dev/operator". */
  controller: string;
  /** reportingInstance: the pod name. */
  instance: string;
  log: Logger;
  now?: () => Date;
  /** How many distinct events are remembered for aggregation (default 4096; the oldest is forgotten first). */
  maxSeries?: number;
  /** Writes waiting for the apiserver beyond which new ones are dropped (default 1000). */
  maxPending?: number;
}

/** client-go's window: a repeat seen within it joins the series. */
export const SERIES_WINDOW_MS = 6 * 60_000;
/** events.k8s.io/v1 validation: note at most 1 KiB, reason and action at most 128 characters. */
export const MAX_NOTE_BYTES = 1024;
const MAX_FIELD = 128;

interface Series {
  namespace: string;
  body: Record<string, unknown>;
  regardingName: string;
  /** Set once the Event exists. */
  eventName?: string;
  count: number;
  written: number;
  lastObserved: Date;
  scheduled: boolean;
}

export class EventRecorder {
  private readonly o: EventRecorderOptions;
  private readonly now: () => Date;
  private readonly series = new Map<string, Series>();
  private readonly maxSeries: number;
  private readonly maxPending: number;
  private pending = 0;
  private dropped = 0;
  private tail: Promise<void> = Promise.resolve();

  constructor(options: EventRecorderOptions) {
    this.o = options;
    this.now = options.now ?? (() => new Date());
    this.maxSeries = options.maxSeries ?? 4096;
    this.maxPending = options.maxPending ?? 1000;
  }

  event(
    target: EventTarget,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: EventTarget,
  ): void {
    try {
      this.record(target, type, reason, action, note, related);
    } catch (err) {
      this.o.log.error({ err: err instanceof Error ? err.message : String(err), reason }, 'cannot record an event');
    }
  }

  /** Resolves once every write queued so far (and any queued meanwhile) has finished. */
  async flush(): Promise<void> {
    let seen: Promise<void>;
    do {
      seen = this.tail;
      await seen;
    } while (seen !== this.tail);
  }

  private record(
    target: EventTarget,
    type: EventType,
    reason: string,
    action: string,
    note: string,
    related?: EventTarget,
  ): void {
    const now = this.now();
    const regarding = reference(target);
    const relatedRef = related ? reference(related) : undefined;
    const fields = {
      type,
      reason: truncate(reason, MAX_FIELD),
      action: truncate(action, MAX_FIELD),
      note: truncateBytes(note, MAX_NOTE_BYTES),
    };
    // The object's identity without its resourceVersion, so that repeats across status writes aggregate.
    const key = JSON.stringify([
      { ...regarding, resourceVersion: undefined },
      relatedRef?.uid ?? relatedRef?.name ?? null,
      relatedRef?.kind ?? null,
      relatedRef?.namespace ?? null,
      fields.type,
      fields.reason,
      fields.action,
      fields.note,
    ]);

    const existing = this.series.get(key);
    if (existing && now.getTime() - existing.lastObserved.getTime() <= SERIES_WINDOW_MS) {
      existing.count++;
      existing.lastObserved = now;
      this.series.delete(key); // most recently used last
      this.series.set(key, existing);
      this.schedule(existing);
      return;
    }

    const namespace = target.metadata.namespace || 'default';
    const entry: Series = {
      namespace,
      regardingName: target.metadata.name,
      count: 1,
      written: 0,
      lastObserved: now,
      scheduled: false,
      body: {
        apiVersion: 'events.k8s.io/v1',
        kind: 'Event',
        eventTime: microTime(now),
        reportingController: truncate(this.o.controller, MAX_FIELD),
        reportingInstance: truncate(this.o.instance, MAX_FIELD),
        ...fields,
        regarding,
        ...(relatedRef ? { related: relatedRef } : {}),
      },
    };
    this.series.delete(key);
    this.series.set(key, entry);
    while (this.series.size > this.maxSeries) this.series.delete(this.series.keys().next().value!);
    this.schedule(entry);
  }

  /** One write per series in the queue at a time; repeats meanwhile are folded into it. */
  private schedule(entry: Series): void {
    if (entry.scheduled) return;
    if (this.pending >= this.maxPending) {
      if (this.dropped++ % 100 === 0)
        this.o.log.warn({ dropped: this.dropped }, 'too many event writes pending; dropping events');
      return;
    }
    entry.scheduled = true;
    this.pending++;
    this.tail = this.tail
      .then(() => this.write(entry))
      .catch((err: unknown) => {
        this.o.log.warn(
          {
            err: err instanceof Error ? err.message : String(err),
            reason: entry.body.reason,
            regarding: entry.regardingName,
          },
          'cannot write an event',
        );
      })
      .finally(() => {
        this.pending--;
      });
  }

  private async write(entry: Series): Promise<void> {
    entry.scheduled = false;
    const count = entry.count;
    const series = { count, lastObservedTime: microTime(entry.lastObserved) };
    const collection = resourcePath({
      group: 'events.k8s.io',
      version: 'v1',
      resource: 'events',
      namespace: entry.namespace,
    });
    if (entry.eventName) {
      if (count === entry.written) return;
      try {
        await this.o.rest.mergePatch(`${collection}/${encodeURIComponent(entry.eventName)}`, { series });
        entry.written = count;
        return;
      } catch (err) {
        // The Event expired (its TTL) while we still aggregated into it: start a new one.
        if (!isNotFound(err)) throw err;
        entry.eventName = undefined;
      }
    }
    const name = `${entry.regardingName.slice(0, 230)}.${eventSuffix(entry.lastObserved)}`;
    const body = { ...entry.body, metadata: { name, namespace: entry.namespace }, ...(count > 1 ? { series } : {}) };
    await this.o.rest.create(collection, body);
    entry.eventName = name;
    entry.written = count;
  }
}

function reference(target: EventTarget): Record<string, string> {
  const ref: Record<string, string> = { apiVersion: target.apiVersion, kind: target.kind, name: target.metadata.name };
  if (target.metadata.namespace) ref.namespace = target.metadata.namespace;
  if (target.metadata.uid) ref.uid = target.metadata.uid;
  if (target.metadata.resourceVersion) ref.resourceVersion = target.metadata.resourceVersion;
  return ref;
}

/** client-go names Events `<regarding>.<unix nanoseconds in hex>`; we have milliseconds, the rest is random. */
function eventSuffix(at: Date): string {
  return (BigInt(at.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000))).toString(16);
}

function truncate(value: string, max: number): string {
  return value.length <= max ? value : value.slice(0, max);
}

/** Cuts a string to at most `max` UTF-8 bytes, never inside a character. */
export function truncateBytes(value: string, max: number): string {
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length <= max) return value;
  let end = max;
  while (end > 0 && (bytes[end]! & 0xc0) === 0x80) end--;
  return bytes.subarray(0, end).toString('utf8');
}
