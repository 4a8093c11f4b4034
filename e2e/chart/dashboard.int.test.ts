// The chart's Grafana dashboard: every query parses in Prometheus' own parser (`promtool check rules`
// on a rule file holding each query, Grafana's variables substituted as Grafana sends them), and the
// chart ships it as a ConfigMap for Grafana's sidecar only when monitoring.grafanaDashboard.enabled.
// The metric names are checked against the code's registries in dashboard.test.ts.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyManifests } from '../env/apply.ts';
import { ENV } from '../env/env.ts';
import { TestEnvToolMissingError } from '../env/errors.ts';
import { renderChart } from '../env/helm.ts';
import { ensurePromtool } from '../env/promtool.ts';
import { asPromQL, dashboardExpressions, dashboardPath, readDashboard } from './dashboard.ts';

const log = (line: string) => process.stdout.write(`[dashboard] ${line}\n`);

describe("the chart's Grafana dashboard", () => {
  let promtool: string | undefined;
  let missing = '';
  let dir: string;
  const expressions = dashboardExpressions(readDashboard());

  /** Each query as a recording rule, so that promtool parses it. */
  const checkRules = (exprs: { where: string; expr: string }[]) => {
    const rules = exprs.map((e, i) => ({ record: `dashboard:query_${i}`, expr: asPromQL(e.expr) }));
    writeFileSync(join(dir, 'dashboard.yaml'), stringify({ groups: [{ name: 'dashboard', rules }] }));
    return spawnSync(promtool!, ['check', 'rules', 'dashboard.yaml'], { cwd: dir, encoding: 'utf8' });
  };

  beforeAll(() => {
    try {
      promtool = ensurePromtool(log);
    } catch (err) {
      if (!(err instanceof TestEnvToolMissingError)) throw err;
      missing = err.message;
    }
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-dashboard-'));
  });

  it('has queries that all pass promtool check rules', (ctx) => {
    if (!promtool) return ctx.skip(`promtool cannot be installed here: ${missing}`);
    const result = checkRules(expressions);
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${expressions.length} rules found`);
    expect(result.status).toBe(0);
  });

  it('fails promtool on a query that does not parse (the check bites)', (ctx) => {
    if (!promtool) return ctx.skip(`promtool cannot be installed here: ${missing}`);
    const result = checkRules([...expressions, { where: 'broken', expr: 'sum by (proxy (rate(gatehouse_x[5m]))' }]);
    expect(result.status).not.toBe(0);
    expect(result.stdout + result.stderr).toMatch(/parse error/);
  });

  it('renders no dashboard ConfigMap by default', () => {
    const objects = renderChart({ release: 'gh' });
    expect(objects.filter((o) => o.kind === 'ConfigMap' && o.metadata?.labels?.grafana_dashboard)).toEqual([]);
  });

  it('renders the dashboard as a ConfigMap for the Grafana sidecar when enabled', () => {
    const [configMap] = renderChart({
      release: 'gh',
      set: {
        'monitoring.grafanaDashboard.enabled': 'true',
        'monitoring.grafanaDashboard.namespace': 'monitoring',
        'monitoring.grafanaDashboard.labels.team': 'sre',
        'monitoring.grafanaDashboard.annotations.grafana_folder': 'Gatehouse',
      },
      showOnly: ['templates/grafana-dashboard.yaml'],
    }) as unknown as {
      kind: string;
      metadata: {
        name: string;
        namespace: string;
        labels: Record<string, string>;
        annotations: Record<string, string>;
      };
      data: Record<string, string>;
    }[];
    expect(configMap).toMatchObject({
      kind: 'ConfigMap',
      metadata: {
        name: 'gh-gatehouse-dashboard',
        namespace: 'monitoring',
        labels: { grafana_dashboard: '1', team: 'sre', 'app.kubernetes.io/instance': 'gh' },
        annotations: { grafana_folder: 'Gatehouse' },
      },
    });
    // The file as it is, untouched by Helm's templating (its legends hold {{label}}).
    expect(JSON.parse(configMap!.data['gatehouse.json']!)).toEqual(JSON.parse(readFileSync(dashboardPath, 'utf8')));
  });

  it('renders a ConfigMap the real kube-apiserver accepts (server-side dry run)', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(process.env[ENV.adminKubeconfig]!);
    await applyManifests(kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dashboard-dry-run' } }]);
    const objects = renderChart({
      release: 'dashboard-dry-run',
      namespace: 'dashboard-dry-run',
      set: { 'monitoring.grafanaDashboard.enabled': 'true' },
      showOnly: ['templates/grafana-dashboard.yaml'],
    });
    expect(objects.map((o) => o.kind)).toEqual(['ConfigMap']);
    await applyManifests(kc, objects, { dryRun: true });
  });
});
