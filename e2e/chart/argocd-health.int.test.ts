// The Argo CD health check of charts/gatehouse/argocd/: one script for every kind, and every case of
// every kind's health_test.yaml (Argo CD's own convention: tests[].inputPath + healthStatus) through the
// real gopher-lua, evaluated the way Argo CD evaluates a script from argocd-cm (testbin/argocd-lua); and
// the README's argocd-cm snippet carries that script, written once, under every kind's key.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR } from '../env/helm.ts';
import { ensureArgoCdLua } from '../env/testbin.ts';

const checks = join(CHART_DIR, 'argocd/gatehouse.dev');
/** The one script; argocd-cm sets it under each kind's key, and it branches on obj.kind. */
const script = join(checks, 'health.lua');
const kinds = ['ApiProxy', 'ApiPolicy', 'ApiProduct', 'Developer', 'DeveloperApp', 'DataPlane', 'KeyValueMap'];

interface HealthTest {
  tests: { healthStatus: { status: string; message?: string }; inputPath: string }[];
}

const cases = kinds.flatMap((kind) => {
  const spec = parse(readFileSync(join(checks, kind, 'health_test.yaml'), 'utf8')) as HealthTest;
  return spec.tests.map((t) => ({ kind, ...t }));
});

describe('Argo CD health check', () => {
  let runner: string;

  beforeAll(() => {
    runner = ensureArgoCdLua((line) => process.stdout.write(`[argocd-lua] ${line}\n`));
  });

  it('is one script, with cases for each kind and each health status the kind can have', () => {
    const entries = readdirSync(checks, { withFileTypes: true });
    expect(entries.filter((e) => e.isFile()).map((e) => e.name)).toEqual(['health.lua']);
    expect(
      entries
        .filter((e) => e.isDirectory())
        .map((e) => e.name)
        .sort(),
    ).toEqual([...kinds].sort());
    for (const kind of kinds) {
      // A kind's folder holds its tests only: a health.lua there would be a second copy to keep in step.
      expect(existsSync(join(checks, kind, 'health.lua')), kind).toBe(false);
      const statuses = new Set(cases.filter((c) => c.kind === kind).map((c) => c.healthStatus.status));
      expect([...statuses].sort(), kind).toEqual(['Degraded', 'Healthy', 'Progressing']);
    }
    for (const c of cases) {
      const input = join(checks, c.kind, c.inputPath);
      expect(existsSync(input), `${c.kind}/${c.inputPath}`).toBe(true);
      // The script tells the kinds apart by obj.kind, so a fixture must be the kind it tests.
      expect((parse(readFileSync(input, 'utf8')) as { kind: string }).kind, `${c.kind}/${c.inputPath}`).toBe(c.kind);
    }
  });

  it.each(cases.map((c) => [`${c.kind}/${c.inputPath}`, c] as const))('%s', (_name, c) => {
    const run = spawnSync(runner, [script, join(checks, c.kind, c.inputPath)], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      status: c.healthStatus.status,
      ...(c.healthStatus.message ? { message: c.healthStatus.message } : {}),
    });
  });

  it('reports a script error, and an unknown status as Argo CD does', () => {
    const dir = join(import.meta.dirname, 'testdata');
    const object = join(checks, 'ApiPolicy/testdata/healthy.yaml');
    const broken = spawnSync(runner, [join(dir, 'uses-string-library.lua'), object], { encoding: 'utf8' });
    // argocd-cm scripts get no string library: a script calling string.format fails there too.
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/string/);
    const odd = spawnSync(runner, [join(dir, 'odd-status.lua'), object], { encoding: 'utf8' });
    expect(JSON.parse(odd.stdout)).toEqual({ status: 'Unknown', message: 'Lua returned an invalid health status' });
  });

  it("is in the README's argocd-cm snippet word for word, written once and aliased for the other kinds", () => {
    const readme = readFileSync(join(CHART_DIR, 'README.md'), 'utf8');
    const snippet = /^## Argo CD$[\s\S]*?^```yaml\n([\s\S]*?)^```$/m.exec(readme)?.[1];
    expect(snippet).toBeDefined();
    const text = readFileSync(script, 'utf8');
    const configMap = parse(snippet!) as { kind: string; metadata: { name: string }; data: Record<string, string> };
    expect(configMap).toMatchObject({ kind: 'ConfigMap', metadata: { name: 'argocd-cm' } });
    // YAML resolves the aliases: what Argo CD reads under every kind's key is the whole script.
    expect(configMap.data).toEqual(
      Object.fromEntries(kinds.map((kind) => [`resource.customizations.health.gatehouse.dev_${kind}`, text])),
    );
    // Every key is a valid ConfigMap key (no wildcard: `*` is not allowed in one).
    for (const key of Object.keys(configMap.data)) expect(key).toMatch(/^[-._a-zA-Z0-9]+$/);
    const indented = text
      .trimEnd()
      .split('\n')
      .map((l) => (l ? `    ${l}` : ''))
      .join('\n');
    expect(readme.split(indented).length - 1).toBe(1);
  });
});
