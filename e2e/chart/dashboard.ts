// The chart's Grafana dashboard (charts/gatehouse/files/dashboards/gatehouse.json) as its tests read
// it: every PromQL expression of its panels and variables, and the metric names they use.
import { readFileSync } from 'node:fs';
import { CHART_DIR } from '../env/helm.ts';
import { join } from 'node:path';

export const dashboardPath = join(CHART_DIR, 'files/dashboards/gatehouse.json');

export interface DashboardPanel {
  id: number;
  type: string;
  title: string;
  targets?: { refId: string; expr: string }[];
  panels?: DashboardPanel[];
}
export interface Dashboard {
  uid: string;
  templating: { list: { name: string; type: string; query?: string | { query: string } }[] };
  panels: DashboardPanel[];
}

export function readDashboard(text = readFileSync(dashboardPath, 'utf8')): Dashboard {
  return JSON.parse(text) as Dashboard;
}

/** Every query: `where` names the panel (title, refId) or the variable, for failure messages. */
export function dashboardExpressions(d: Dashboard): { where: string; expr: string }[] {
  const out: { where: string; expr: string }[] = [];
  const walk = (panels: DashboardPanel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push({ where: `panel "${p.title}" ${t.refId}`, expr: t.expr });
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating.list) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query!.query;
    // label_values(SELECTOR, label): the selector is PromQL.
    const selector = /^label_values\((.*),\s*[a-zA-Z_]+\)$/.exec(query)?.[1];
    out.push({ where: `variable ${v.name}`, expr: selector ?? query });
  }
  return out;
}

/** Metric names an expression reads (Gatehouse's all start with gatehouse_). */
export const metricNames = (expr: string): string[] => [...expr.matchAll(/\bgatehouse_[a-z_]+/g)].map((m) => m[0]);

/**
 * The expression as Prometheus would receive it from Grafana: its variables substituted (an All
 * selection is the variable's allValue, `.+`; $__rate_interval at least four scrape intervals).
 */
export const asPromQL = (expr: string): string =>
  expr.replaceAll('$__rate_interval', '2m').replaceAll('$dataplane', '.+').replaceAll('$proxy', '.+');
