// The real `helm` on charts/gatehouse: lint and template. helm is built from the Go module proxy the
// first time a test asks for it (testbin.ts), not when the environment starts.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { TestEnvRequestError } from './errors.ts';
import { ensureHelm } from './testbin.ts';

export const CHART_DIR = join(new URL('../..', import.meta.url).pathname, 'charts/gatehouse');

export interface HelmResult {
  status: number;
  stdout: string;
  stderr: string;
}

let binary: string | undefined;

/** Runs helm with `args`; builds it first if needed (`log` reports that). */
export function helm(args: string[], log: (line: string) => void = () => {}): HelmResult {
  binary ??= ensureHelm(log);
  // A private HOME-like config so a developer's helm repositories and plugins play no part.
  const run = spawnSync(binary, args, {
    encoding: 'utf8',
    env: {
      ...process.env,
      HELM_CONFIG_HOME: '/nonexistent/helm-config',
      HELM_CACHE_HOME: '/nonexistent/helm-cache',
      HELM_DATA_HOME: '/nonexistent/helm-data',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  if (run.error) throw new TestEnvRequestError(`running ${binary}: ${run.error.message}`, run.error);
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr };
}

export interface RenderOptions {
  release?: string;
  namespace?: string;
  /** `--set` pairs, applied in order. */
  set?: Record<string, string>;
  /** Only these templates (`--show-only templates/x.yaml`). */
  showOnly?: string[];
  includeCrds?: boolean;
  log?: (line: string) => void;
}

/** `helm template` of the chart: its objects, in the order helm prints them. Throws when helm fails. */
export function renderChart(options: RenderOptions = {}): k8s.KubernetesObject[] {
  const args = [
    'template',
    options.release ?? 'gatehouse',
    CHART_DIR,
    '--namespace',
    options.namespace ?? 'gatehouse-system',
  ];
  for (const [key, value] of Object.entries(options.set ?? {})) args.push('--set', `${key}=${value}`);
  for (const template of options.showOnly ?? []) args.push('--show-only', template);
  if (options.includeCrds) args.push('--include-crds');
  const result = helm(args, options.log);
  if (result.status !== 0)
    throw new TestEnvRequestError(`helm ${args.join(' ')} failed (${result.status}): ${result.stderr}`);
  return parseAllDocuments(result.stdout)
    .map((d) => d.toJS() as k8s.KubernetesObject | null)
    .filter((o): o is k8s.KubernetesObject => o !== null);
}
