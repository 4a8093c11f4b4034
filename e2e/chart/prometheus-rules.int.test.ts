// The chart's PrometheusRule through Prometheus' own promtool: helm renders it, its rule groups are
// written out as a rules file, `promtool check rules` accepts them, and `promtool test rules` runs unit
// tests in which every alert fires on a failing series and stays silent on a healthy one. Every metric
// an alert reads is one the code registers. promtool is Debian's (e2e/env/promtool.ts installs it); the
// suite skips, saying why, only where it cannot be installed.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { TestEnvToolMissingError } from '../env/errors.ts';
import { renderChart } from '../env/helm.ts';
import { ensurePromtool } from '../env/promtool.ts';

const root = new URL('../..', import.meta.url).pathname;
const log = (line: string) => process.stdout.write(`[promtool] ${line}\n`);

interface Rule {
  alert: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}
interface RuleGroup {
  name: string;
  rules: Rule[];
}

/** promtool's series notation: `values` is e.g. '1x30', '_x5 1x20', '0+10x40'. */
type Series = Record<string, string>;

/** One alert's unit tests: at `at`, `firing` raises exactly `alerts`; `healthy` raises none. */
interface AlertCase {
  alert: string;
  at: string;
  firing: Series;
  alerts: { labels: Record<string, string>; annotations: Record<string, string> }[];
  healthy: Series[];
}

const runbook = 'https://github.com/gatehouse-dev/gatehouse/blob/main/docs/operations.md';
const op = 'namespace="gatehouse-system"'; // labels of the operator's own series (its pod's namespace)

const cases: AlertCase[] = [
  {
    alert: 'GatehouseCertificateExpiringSoon',
    at: '90m',
    // Three days after the epoch (promtool's clock starts at 0), reported by both replicas.
    firing: {
      'gatehouse_certificate_expiry_timestamp_seconds{namespace="edge",secret="edge-envoy-tls",kind="leaf",instance="a"}':
        '259200x100',
      'gatehouse_certificate_expiry_timestamp_seconds{namespace="edge",secret="edge-envoy-tls",kind="leaf",instance="b"}':
        '259200x100',
    },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'edge', secret: 'edge-envoy-tls', kind: 'leaf' },
        annotations: {
          summary: 'Certificate edge/edge-envoy-tls (leaf) expires in 2d 22h 30m 0s',
          description:
            'The operator renews certificates when a third of their life is left; this one is still due to expire within 7 days. Renewal is failing or stuck: look for IssueFailed Events and the CertificatesReady condition of the DataPlanes.',
          runbook_url: `${runbook}#certificate-expired-between-components`,
        },
      },
    ],
    // 90 days left.
    healthy: [
      {
        'gatehouse_certificate_expiry_timestamp_seconds{namespace="edge",secret="edge-envoy-tls",kind="leaf",instance="a"}':
          '7776000x100',
      },
    ],
  },
  {
    alert: 'GatehouseCertificateExpiresWithinADay',
    at: '30m',
    firing: {
      [`gatehouse_certificate_expiry_timestamp_seconds{${op},secret="gatehouse-ca",kind="ca",instance="a"}`]:
        '43200x40',
    },
    alerts: [
      {
        labels: { severity: 'critical', namespace: 'gatehouse-system', secret: 'gatehouse-ca', kind: 'ca' },
        annotations: {
          summary: 'Certificate gatehouse-system/gatehouse-ca (ca) expires in 11h 30m 0s',
          description:
            'Once it expires, mutual TLS between Envoy, extproc and the operator fails for the pods that present it.',
          runbook_url: `${runbook}#certificate-expired-between-components`,
        },
      },
    ],
    // Three days left: the 7-day warning's case, not this one.
    healthy: [
      {
        [`gatehouse_certificate_expiry_timestamp_seconds{${op},secret="gatehouse-ca",kind="ca",instance="a"}`]:
          '259200x40',
      },
    ],
  },
  {
    alert: 'GatehouseConfigRejected',
    at: '20m',
    // The first NACK of a replica (its series appears at 12m), and one more from a series that exists.
    firing: {
      [`gatehouse_xds_nacks_total{${op},type="runtime",instance="a"}`]: '_x12 1x30',
      [`gatehouse_xds_nacks_total{${op},type="LDS",instance="b"}`]: '2x14 3x30',
    },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'gatehouse-system', type: 'runtime' },
        annotations: {
          summary: 'Data-plane nodes rejected runtime configuration served by the operator in gatehouse-system',
          description:
            '1 NACKs in the last 15 minutes: the nodes keep running the previous version. The ApiProxy and DataPlane status (reason Rejected) and /debug/nodes name the nodes and their error.',
          runbook_url: `${runbook}#configuration-stopped-syncing-to-a-region`,
        },
      },
      {
        labels: { severity: 'warning', namespace: 'gatehouse-system', type: 'LDS' },
        annotations: {
          summary: 'Data-plane nodes rejected LDS configuration served by the operator in gatehouse-system',
          description:
            '1 NACKs in the last 15 minutes: the nodes keep running the previous version. The ApiProxy and DataPlane status (reason Rejected) and /debug/nodes name the nodes and their error.',
          runbook_url: `${runbook}#configuration-stopped-syncing-to-a-region`,
        },
      },
    ],
    // NACKs long ago (before the window), none since; and a replica with none at all.
    healthy: [{ [`gatehouse_xds_nacks_total{${op},type="runtime",instance="a"}`]: '3x30' }, {}],
  },
  {
    alert: 'GatehouseDataPlaneNodeUnsynced',
    at: '30m',
    // The operator serves v2; one extproc pod is still on v1, another runs v2.
    firing: {
      [`gatehouse_xds_snapshot_info{${op},instance="a",version="v2"}`]: '1x40',
      [`gatehouse_xds_snapshot_info{${op},instance="b",version="v2"}`]: '1x40',
      'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-1",version="v1"}': '1x40',
      'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-2",version="v2"}': '1x40',
    },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'edge', dataplane: 'edge', pod: 'edge-extproc-1' },
        annotations: {
          summary: 'extproc pod edge/edge-extproc-1 runs a snapshot no operator serves',
          description:
            'For 15 minutes the runtime snapshot of edge-extproc-1 (DataPlane edge) has not been the version the operator serves: it is disconnected from xDS or rejects the new version.',
          runbook_url: `${runbook}#configuration-stopped-syncing-to-a-region`,
        },
      },
    ],
    healthy: [
      // In sync; and on the old version for its first 6 minutes (less than the alert's 15) before it catches up.
      {
        [`gatehouse_xds_snapshot_info{${op},instance="a",version="v2"}`]: '1x40',
        'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-1",version="v2"}': '1x40',
        'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-2",version="v1"}':
          '1x5 _x34',
        'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-2",version="v2"}':
          '_x6 1x34',
      },
      // No operator serving at all: not this alert's to say.
      {
        'gatehouse_extproc_snapshot_info{namespace="edge",dataplane="edge",pod="edge-extproc-1",version="v1"}': '1x40',
      },
    ],
  },
  {
    alert: 'GatehouseEvictionBudgetExhausted',
    at: '70m',
    // The leader's first BudgetExhausted deferral at 60m.
    firing: { [`gatehouse_remediation_deferred_total{${op},reason="BudgetExhausted",instance="a"}`]: '_x60 1x30' },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'gatehouse-system' },
        annotations: {
          summary: 'Zombie data-plane pods wait: the eviction budget is used up (operator in gatehouse-system)',
          description:
            'In the last hour 1 zombie pod(s) were left alone because their DataPlane spent spec.remediation.maxEvictionsPerHour. The PodsHealthy condition names them.',
          runbook_url: `${runbook}#zombie-pods-that-never-drop-out`,
        },
      },
    ],
    // Deferrals for another reason, and budget deferrals over an hour ago.
    healthy: [
      { [`gatehouse_remediation_deferred_total{${op},reason="MinAvailable",instance="a"}`]: '_x60 1x30' },
      { [`gatehouse_remediation_deferred_total{${op},reason="BudgetExhausted",instance="a"}`]: '2x100' },
    ],
  },
  {
    alert: 'GatehouseZombiePods',
    at: '40m',
    firing: {
      'gatehouse_remediation_zombie_pods{namespace="edge",dataplane="edge",reason="NotReady",instance="a"}': '1x60',
      [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="a"}`]: '1x60',
    },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'edge', dataplane: 'edge', reason: 'NotReady' },
        annotations: {
          summary: 'DataPlane edge/edge has had 1 zombie pod(s) (NotReady) for 30 minutes',
          description:
            'Pods Running but not serving are neither replaced nor remediated (remediation off, dry run, or held back by the budget, minAvailable or a PodDisruptionBudget).',
          runbook_url: `${runbook}#zombie-pods-that-never-drop-out`,
        },
      },
    ],
    // The leader sees none; a former leader still reports its last count.
    healthy: [
      {
        'gatehouse_remediation_zombie_pods{namespace="edge",dataplane="edge",reason="NotReady",instance="a"}': '0x60',
        [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="a"}`]: '1x60',
        'gatehouse_remediation_zombie_pods{namespace="edge",dataplane="edge",reason="NotReady",instance="b"}': '2x60',
        [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="b"}`]: '0x60',
      },
    ],
  },
  {
    alert: 'GatehouseDataPlaneCapacityNotOK',
    at: '20m',
    firing: {
      'gatehouse_dataplane_capacity_ok{namespace="edge",dataplane="edge",instance="a"}': '0x30',
      [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="a"}`]: '1x30',
    },
    alerts: [
      {
        labels: { severity: 'warning', namespace: 'edge', dataplane: 'edge' },
        annotations: {
          summary: 'DataPlane edge/edge: CapacityOK is False',
          description: 'Its pods cannot be scheduled or its autoscaler flaps; the CapacityOK condition says which.',
          runbook_url: `${runbook}#capacity-exhausted-pending-pods`,
        },
      },
    ],
    // The leader says OK; a former leader keeps a stale 0.
    healthy: [
      {
        'gatehouse_dataplane_capacity_ok{namespace="edge",dataplane="edge",instance="a"}': '1x30',
        [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="a"}`]: '1x30',
        'gatehouse_dataplane_capacity_ok{namespace="edge",dataplane="edge",instance="b"}': '0x30',
        [`gatehouse_operator_leader{${op},lease="gatehouse-operator",instance="b"}`]: '0x30',
      },
    ],
  },
  {
    alert: 'GatehouseExtprocErrors',
    at: '30m',
    // 10 internal errors a minute against 100 completed streams: 9 %.
    firing: {
      'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="completed"}':
        '0+100x40',
      'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="immediate_response"}':
        '0+50x40',
      'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="internal_error"}':
        '0+16x40',
    },
    alerts: [
      {
        labels: { severity: 'critical', namespace: 'edge', dataplane: 'edge' },
        annotations: {
          summary: 'extproc of DataPlane edge/edge fails 9.639% of its streams',
          description:
            'ext_proc streams end in internal or protocol errors; Envoy applies the DataPlane failureMode to each of those requests. See the extproc logs.',
          runbook_url: `${runbook}#runbook`,
        },
      },
    ],
    // 1 % errors; and many policy answers (immediate_response), which are no errors.
    healthy: [
      {
        'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="completed"}':
          '0+100x40',
        'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="immediate_response"}':
          '0+400x40',
        'gatehouse_extproc_streams_total{namespace="edge",dataplane="edge",pod="edge-extproc-1",outcome="protocol_error"}':
          '0+5x40',
      },
    ],
  },
  {
    alert: 'GatehouseRedisUnavailable',
    at: '15m',
    // Open, half-open probes failing, open again.
    firing: {
      'gatehouse_store_circuit_state{namespace="edge",dataplane="edge",pod="edge-extproc-1"}':
        '2 1 2 2 1 2 2 1 2 2 1 2 2 1 2 2 1 2 2 1',
    },
    alerts: [
      {
        labels: { severity: 'critical', namespace: 'edge', dataplane: 'edge' },
        annotations: {
          summary: 'extproc of DataPlane edge/edge cannot reach Redis',
          description:
            'The Redis circuit breaker has not closed for 10 minutes: quota and spike-arrest counters fail closed or fall back to per-replica counts (redis onUnavailable).',
          runbook_url: `${runbook}#when-redis-is-unavailable`,
        },
      },
    ],
    // Closed; and a short outage that recovered.
    healthy: [
      { 'gatehouse_store_circuit_state{namespace="edge",dataplane="edge",pod="edge-extproc-1"}': '0x20' },
      { 'gatehouse_store_circuit_state{namespace="edge",dataplane="edge",pod="edge-extproc-1"}': '0 2 2 1 0x16' },
    ],
  },
];

const inputSeries = (series: Series) => Object.entries(series).map(([name, values]) => ({ series: name, values }));

/** promtool's unit-test file: per case, one test with the failing series and one per healthy set. */
function unitTests(rulesFile: string, only: AlertCase[] = cases): string {
  const tests = only.flatMap((c) => [
    {
      name: `${c.alert} fires`,
      interval: '1m',
      input_series: inputSeries(c.firing),
      alert_rule_test: [
        {
          eval_time: c.at,
          alertname: c.alert,
          exp_alerts: c.alerts.map((a) => ({ exp_labels: a.labels, exp_annotations: a.annotations })),
        },
      ],
    },
    ...c.healthy.map((series, i) => ({
      name: `${c.alert} stays silent (healthy ${i + 1})`,
      interval: '1m',
      input_series: inputSeries(series),
      alert_rule_test: [{ eval_time: c.at, alertname: c.alert, exp_alerts: [] }],
    })),
  ]);
  return stringify({ rule_files: [rulesFile], evaluation_interval: '1m', tests });
}

/** Every `gatehouse_*` metric name registered in the code (prom-client `name:` and the constant the certificates controller uses). */
function registeredMetrics(): Set<string> {
  const names = new Set<string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir)) {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) walk(path);
      else if (entry.endsWith('.ts') && !entry.endsWith('.test.ts')) {
        for (const m of readFileSync(path, 'utf8').matchAll(/(?:name: |Metric = )'(gatehouse_[a-z_]+)'/g))
          names.add(m[1]!);
      }
    }
  };
  for (const dir of ['operator/src', 'extproc/src', 'lib']) walk(join(root, dir));
  return names;
}

describe("the chart's PrometheusRule, through promtool", () => {
  let promtool: string | undefined;
  let missing = '';
  let groups: RuleGroup[];
  let dir: string;
  let rulesFile: string;

  const run = (args: string[]) => spawnSync(promtool!, args, { cwd: dir, encoding: 'utf8' });

  beforeAll(() => {
    try {
      promtool = ensurePromtool(log);
    } catch (err) {
      if (!(err instanceof TestEnvToolMissingError)) throw err;
      missing = err.message;
    }
    const [rule] = renderChart({
      release: 'gh',
      set: { 'monitoring.prometheusRule.enabled': 'true' },
      showOnly: ['templates/prometheusrule.yaml'],
    });
    expect(rule).toMatchObject({ apiVersion: 'monitoring.coreos.com/v1', kind: 'PrometheusRule' });
    groups = (rule as unknown as { spec: { groups: RuleGroup[] } }).spec.groups;
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-rules-'));
    rulesFile = join(dir, 'rules.yaml');
    writeFileSync(rulesFile, stringify({ groups }));
  });

  const alerts = () => groups.flatMap((g) => g.rules);

  it('alerts only on metrics the code registers, each with a severity, a for duration, a summary, a description and a runbook', () => {
    const registered = registeredMetrics();
    expect(registered.size).toBeGreaterThan(20);
    const used = new Set(alerts().flatMap((r) => [...r.expr.matchAll(/\bgatehouse_[a-z_]+/g)].map((m) => m[0])));
    expect([...used].filter((m) => !registered.has(m))).toEqual([]);
    for (const rule of alerts()) {
      expect(rule.labels?.severity, rule.alert).toMatch(/^(warning|critical)$/);
      expect(rule.for, rule.alert).toMatch(/^\d+[mh]$/);
      expect(Object.keys(rule.annotations ?? {}).sort(), rule.alert).toEqual(['description', 'runbook_url', 'summary']);
      expect(rule.annotations!.runbook_url, rule.alert).toMatch(/\/docs\/operations\.md#[a-z0-9-]+$/);
    }
  });

  it('passes promtool check rules', (ctx) => {
    if (!promtool) return ctx.skip(`promtool cannot be installed here: ${missing}`);
    const result = run(['check', 'rules', rulesFile]);
    expect(result.stdout + result.stderr).toContain(`SUCCESS: ${alerts().length} rules found`);
    expect(result.status).toBe(0);
  });

  it('passes promtool test rules: every alert fires on a failing series and stays silent on healthy ones', (ctx) => {
    if (!promtool) return ctx.skip(`promtool cannot be installed here: ${missing}`);
    expect(cases.map((c) => c.alert).sort()).toEqual(
      alerts()
        .map((r) => r.alert)
        .sort(),
    );
    writeFileSync(join(dir, 'tests.yaml'), unitTests('rules.yaml'));
    const result = run(['test', 'rules', 'tests.yaml']);
    expect(result.stdout + result.stderr).toContain('SUCCESS');
    expect(result.status, result.stdout + result.stderr).toBe(0);
  });

  it('fails promtool test rules when an expectation is wrong (the unit tests bite)', (ctx) => {
    if (!promtool) return ctx.skip(`promtool cannot be installed here: ${missing}`);
    // Every failing series presented as healthy: promtool must report each alert as firing.
    const inverted = cases.map((c) => ({ ...c, healthy: [c.firing], alerts: [] }));
    writeFileSync(join(dir, 'inverted.yaml'), unitTests('rules.yaml', inverted));
    const result = run(['test', 'rules', 'inverted.yaml']);
    expect(result.status).not.toBe(0);
    for (const c of cases) expect(result.stdout + result.stderr, c.alert).toContain(`alertname: ${c.alert}`);
  });
});
