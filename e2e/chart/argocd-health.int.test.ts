// The Argo CD health checks of charts/gatehouse/argocd/: every case of every health_test.yaml (Argo
// CD's own convention: tests[].inputPath + healthStatus) through the real gopher-lua, evaluated the way
// Argo CD evaluates a script from argocd-cm (testbin/argocd-lua); and the README's argocd-cm snippet
// carries the same scripts.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR } from '../env/helm.ts';
import { ensureArgoCdLua } from '../env/testbin.ts';

const checks = join(CHART_DIR, 'argocd/gatehouse.dev');
const kinds = ['ApiProxy', 'Policy', 'Product', 'App', 'DataPlane'];

interface HealthTest {
  tests: { healthStatus: { status: string; message?: string }; inputPath: string }[];
}

const cases = kinds.flatMap((kind) => {
  const spec = parse(readFileSync(join(checks, kind, 'health_test.yaml'), 'utf8')) as HealthTest;
  return spec.tests.map((t) => ({ kind, ...t }));
});

describe('Argo CD health checks', () => {
  let runner: string;

  beforeAll(() => {
    runner = ensureArgoCdLua((line) => process.stdout.write(`[argocd-lua] ${line}\n`));
  });

  it('exist for every kind, with cases for each health status the kind can have', () => {
    expect(readdirSync(checks).sort()).toEqual([...kinds].sort());
    for (const kind of kinds) {
      const statuses = new Set(cases.filter((c) => c.kind === kind).map((c) => c.healthStatus.status));
      expect([...statuses].sort(), kind).toEqual(['Degraded', 'Healthy', 'Progressing']);
    }
    for (const c of cases) expect(existsSync(join(checks, c.kind, c.inputPath)), `${c.kind}/${c.inputPath}`).toBe(true);
  });

  it.each(cases.map((c) => [`${c.kind}/${c.inputPath}`, c] as const))('%s', (_name, c) => {
    const run = spawnSync(runner, [join(checks, c.kind, 'health.lua'), join(checks, c.kind, c.inputPath)], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ status: c.healthStatus.status, ...(c.healthStatus.message ? { message: c.healthStatus.message } : {}) });
  });

  it('reports a script error, and an unknown status as Argo CD does', () => {
    const dir = join(import.meta.dirname, 'testdata');
    const object = join(checks, 'Policy/testdata/healthy.yaml');
    const broken = spawnSync(runner, [join(dir, 'uses-string-library.lua'), object], { encoding: 'utf8' });
    // argocd-cm scripts get no string library: a script calling string.format fails there too.
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/string/);
    const odd = spawnSync(runner, [join(dir, 'odd-status.lua'), object], { encoding: 'utf8' });
    expect(JSON.parse(odd.stdout)).toEqual({ status: 'Unknown', message: 'Lua returned an invalid health status' });
  });

  it('are in the README\'s argocd-cm snippet, word for word', () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    for (const kind of kinds) {
      const script = readFileSync(join(checks, kind, 'health.lua'), 'utf8').trimEnd().split('\n').map((l) => (l ? `    ${l}` : '')).join('\n');
      expect(readme, kind).toContain(`  resource.customizations.health.gatehouse.dev_${kind}: |\n${script}\n`);
    }
  });
});
