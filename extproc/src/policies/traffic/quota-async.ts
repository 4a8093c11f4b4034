// Asynchronous quota counting (Quota `synchronous: false`, as Apigee's AsynchronousConfiguration):
// each replica judges requests against its last view of the shared count plus what it counted since,
// and pushes its local count to the shared store every sync interval or message count, without
// making the request wait. Cheaper than a round trip per request; the limit may be overshot by what
// other replicas counted since their last sync.
import type { Logger } from 'pino';
import { ExpiringLruMap } from '../../stores/memory.ts';
import type { CounterStore, QuotaRequest, QuotaResult } from '../../stores/types.ts';

interface LocalView {
  windowEndMs: number;
  /** The shared count as of the last sync. */
  shared: number;
  /** Counted here since the last sync. */
  pending: number;
  lastSyncMs: number;
  syncing: boolean;
}

const MAX_IDENTIFIERS = 100_000;

export class AsyncQuotaCounter {
  readonly #views = new ExpiringLruMap<LocalView>(() => 0, MAX_IDENTIFIERS);
  readonly #syncIntervalMs: number;
  readonly #syncMessageCount: number;

  constructor(syncIntervalMs: number, syncMessageCount: number) {
    this.#syncIntervalMs = syncIntervalMs;
    this.#syncMessageCount = syncMessageCount;
  }

  consume(store: CounterStore, req: QuotaRequest, log: Logger): QuotaResult {
    let view = this.#views.get(req.key);
    if (view === undefined || req.nowMs >= view.windowEndMs) {
      const windowEndMs = req.kind === 'flexi' ? req.nowMs + req.windowMs : req.windowStartMs + req.windowMs;
      view = { windowEndMs, shared: 0, pending: 0, lastSyncMs: -Infinity, syncing: false };
      this.#views.set(req.key, view);
    }
    const before = view.shared + view.pending;
    const admitted = before + req.weight <= req.limit;
    if (admitted) view.pending += req.weight;
    const due = view.pending >= this.#syncMessageCount || req.nowMs - view.lastSyncMs >= this.#syncIntervalMs;
    if (due && !view.syncing) this.#sync(store, req, view, log);
    return { admitted, used: before + (admitted ? req.weight : 0), windowEndMs: view.windowEndMs };
  }

  /** Adds the local count to the shared one (never rejected there) and learns the shared total. */
  #sync(store: CounterStore, req: QuotaRequest, view: LocalView, log: Logger): void {
    const weight = view.pending;
    view.pending = 0;
    view.syncing = true;
    view.lastSyncMs = req.nowMs;
    store
      .consume({ ...req, weight, limit: Number.MAX_SAFE_INTEGER })
      .then(
        (shared) => {
          view.shared = shared.used;
          view.windowEndMs = shared.windowEndMs;
        },
        (err: unknown) => {
          view.pending += weight;
          log.warn(
            { err: err instanceof Error ? err.message : String(err), key: req.key },
            'asynchronous quota sync failed; retrying at the next interval',
          );
        },
      )
      .finally(() => {
        view.syncing = false;
      });
  }
}
