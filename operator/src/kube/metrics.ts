// Prometheus metrics of the Kubernetes plumbing (informers, work queues, leader election, REST calls),
// registered in the registry the caller passes, so several operators can run in one test process.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export class KubeMetrics {
  readonly informerRestarts: Counter<'informer'>;
  readonly informerSynced: Gauge<'informer'>;
  readonly informerObjects: Gauge<'informer'>;
  readonly informerEvents: Counter<'informer' | 'event'>;
  readonly workqueueDepth: Gauge<'name'>;
  readonly workqueueAdds: Counter<'name'>;
  readonly workqueueRetries: Counter<'name'>;
  readonly reconcileDuration: Histogram<'name' | 'result'>;
  readonly leader: Gauge<'lease'>;
  readonly requests: Counter<'method' | 'code'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.informerRestarts = new Counter({
      name: 'gatehouse_operator_informer_restarts_total',
      help: 'list+watch cycles restarted after an error, by informer',
      labelNames: ['informer'],
      registers,
    });
    this.informerSynced = new Gauge({
      name: 'gatehouse_operator_informer_synced',
      help: "1 once the informer's cache holds a complete list, 0 while (re)listing or stopped",
      labelNames: ['informer'],
      registers,
    });
    this.informerObjects = new Gauge({
      name: 'gatehouse_operator_informer_objects',
      help: "objects in the informer's cache",
      labelNames: ['informer'],
      registers,
    });
    this.informerEvents = new Counter({
      name: 'gatehouse_operator_informer_events_total',
      help: 'changes delivered to handlers, by informer and event (add, update, delete)',
      labelNames: ['informer', 'event'],
      registers,
    });
    this.workqueueDepth = new Gauge({
      name: 'gatehouse_operator_workqueue_depth',
      help: 'keys waiting to be reconciled, by queue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueAdds = new Counter({
      name: 'gatehouse_operator_workqueue_adds_total',
      help: 'keys added, by queue',
      labelNames: ['name'],
      registers,
    });
    this.workqueueRetries = new Counter({
      name: 'gatehouse_operator_workqueue_retries_total',
      help: 'rate-limited re-adds after a failed reconcile, by queue',
      labelNames: ['name'],
      registers,
    });
    this.reconcileDuration = new Histogram({
      name: 'gatehouse_operator_reconcile_duration_seconds',
      help: 'reconcile time, by queue and result (success, requeue, error)',
      labelNames: ['name', 'result'],
      buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 60],
      registers,
    });
    this.leader = new Gauge({
      name: 'gatehouse_operator_leader',
      help: '1 while this replica holds the Lease',
      labelNames: ['lease'],
      registers,
    });
    this.requests = new Counter({
      name: 'gatehouse_operator_kube_requests_total',
      help: 'apiserver requests, by method (WATCH for watches) and status code (0: no answer)',
      labelNames: ['method', 'code'],
      registers,
    });
  }

  /** Drops the series of an informer that is gone for good (a released one of the informer factory). */
  forgetInformer(informer: string): void {
    this.informerRestarts.remove({ informer });
    this.informerSynced.remove({ informer });
    this.informerObjects.remove({ informer });
    for (const event of ['add', 'update', 'delete']) this.informerEvents.remove({ informer, event });
  }
}
