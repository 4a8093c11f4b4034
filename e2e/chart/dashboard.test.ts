// The Grafana dashboard reads only metrics the code registers: the names in its queries are looked up
// in the real prom-client registries of extproc (with its Redis store metrics), the xDS server and the
// Kubernetes plumbing, and the certificate controller's gauge name, so a renamed metric fails here.
// promtool parsing every query and the chart's ConfigMap are checked in dashboard.int.test.ts.
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { ExtprocMetrics } from '../../extproc/src/server/metrics.ts';
import { StoreMetrics } from '../../extproc/src/stores/store-metrics.ts';
import { expiryMetric } from '../../operator/src/certs/controller.ts';
import { KubeMetrics } from '../../operator/src/kube/metrics.ts';
import { XdsMetrics } from '../../operator/src/xds/metrics.ts';
import { dashboardExpressions, metricNames, readDashboard } from './dashboard.ts';

/** Names a scrape shows: a histogram's series are NAME_bucket, NAME_count and NAME_sum. */
async function exposed(registries: Registry[]): Promise<Set<string>> {
  const names = new Set<string>();
  for (const registry of registries) {
    for (const m of await registry.getMetricsAsJSON()) {
      if (String(m.type) === 'histogram') for (const s of ['_bucket', '_count', '_sum']) names.add(m.name + s);
      else names.add(m.name);
    }
  }
  return names;
}

describe('the Grafana dashboard', () => {
  const dashboard = readDashboard();
  const expressions = dashboardExpressions(dashboard);

  it('has queries for every row the operations guide promises', () => {
    expect(dashboard.uid).toBe('gatehouse');
    expect(expressions.length).toBeGreaterThan(15);
    const used = new Set(expressions.flatMap((e) => metricNames(e.expr)));
    for (const metric of [
      'gatehouse_extproc_proxy_requests_total',
      'gatehouse_extproc_proxy_faults_total',
      'gatehouse_extproc_proxy_phase_duration_seconds_bucket',
      'gatehouse_extproc_policy_duration_seconds_count',
      'gatehouse_certificate_expiry_timestamp_seconds',
      'gatehouse_xds_propagation_seconds_bucket',
      'gatehouse_extproc_snapshot_info',
      'gatehouse_xds_snapshot_info',
    ])
      expect(used, metric).toContain(metric);
    const variables = dashboard.templating.list.map((v) => v.name);
    expect(variables).toEqual(['datasource', 'dataplane', 'proxy']);
  });

  it('reads only metric names the code registers', async () => {
    const extproc = new ExtprocMetrics();
    new StoreMetrics(extproc.registry);
    const xds = new XdsMetrics();
    const operator = new Registry();
    new KubeMetrics(operator);
    const registered = await exposed([extproc.registry, xds.registry, operator]);
    registered.add(expiryMetric);
    expect(registered.size).toBeGreaterThan(30);
    const unknown = expressions.flatMap((e) =>
      metricNames(e.expr)
        .filter((name) => !registered.has(name))
        .map((name) => `${e.where}: ${name}`),
    );
    expect(unknown).toEqual([]);
  });

  it("filters every per-proxy panel's query by the proxy and DataPlane variables", () => {
    for (const { where, expr } of expressions.filter((e) => e.where.startsWith('panel'))) {
      for (const m of expr.matchAll(/gatehouse_extproc_proxy_[a-z_]+(\{[^}]*\})?/g)) {
        expect(m[1], where).toContain('proxy=~"$proxy"');
        expect(m[1], where).toContain('dataplane=~"$dataplane"');
      }
    }
  });

  it('names a panel a metric that the code does not register (the check bites)', async () => {
    const bad = readDashboard();
    bad.panels[1]!.targets![0]!.expr = 'sum(rate(gatehouse_extproc_proxy_request_total[5m]))';
    const registered = await exposed([new ExtprocMetrics().registry]);
    const unknown = dashboardExpressions(bad).flatMap((e) => metricNames(e.expr).filter((n) => !registered.has(n)));
    expect(unknown).toContain('gatehouse_extproc_proxy_request_total');
  });
});
