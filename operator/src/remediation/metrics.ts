// Prometheus metrics of remediation and capacity, registered in the caller's registry (several
// operators can share one test process).
import { Counter, Gauge, type Registry } from 'prom-client';

export class RemediationMetrics {
  /** Evictions and force deletes done, or reported in dry run. */
  readonly actions: Counter<'action' | 'reason' | 'dry_run'>;
  /** Zombies left alone for now, by why (BudgetExhausted, MinAvailable, EvictionRefused, ...). */
  readonly deferred: Counter<'reason'>;
  /** Evictions the apiserver refused (429: a PodDisruptionBudget) or that failed otherwise. */
  readonly refusals: Counter<'code'>;
  readonly deepChecks: Counter<'result'>;
  readonly zombies: Gauge<'namespace' | 'dataplane' | 'reason'>;
  readonly capacityOk: Gauge<'namespace' | 'dataplane'>;

  constructor(registry: Registry) {
    const registers = [registry];
    this.actions = new Counter({
      name: 'gatehouse_remediation_actions_total',
      help: 'zombie pods evicted or force-deleted (dry_run="true": only reported), by action and zombie reason',
      labelNames: ['action', 'reason', 'dry_run'],
      registers,
    });
    this.deferred = new Counter({
      name: 'gatehouse_remediation_deferred_total',
      help: 'decisions to leave a zombie pod for now, by reason',
      labelNames: ['reason'],
      registers,
    });
    this.refusals = new Counter({
      name: 'gatehouse_remediation_eviction_refusals_total',
      help: 'evictions the apiserver refused, by HTTP status (429: a PodDisruptionBudget)',
      labelNames: ['code'],
      registers,
    });
    this.deepChecks = new Counter({
      name: 'gatehouse_remediation_deep_checks_total',
      help: 'deep checks of extproc pods (gRPC health and an ext_proc round trip) and Envoy pods (/ready), by result',
      labelNames: ['result'],
      registers,
    });
    this.zombies = new Gauge({
      name: 'gatehouse_remediation_zombie_pods',
      help: 'zombie data-plane pods, by DataPlane and reason',
      labelNames: ['namespace', 'dataplane', 'reason'],
      registers,
    });
    this.capacityOk = new Gauge({
      name: 'gatehouse_dataplane_capacity_ok',
      help: "1 while the DataPlane's CapacityOK condition is True",
      labelNames: ['namespace', 'dataplane'],
      registers,
    });
  }
}
