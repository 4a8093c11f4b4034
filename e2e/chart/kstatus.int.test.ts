// Our status shapes under kstatus (sigs.k8s.io/cli-utils, what Flux and kpt wait with), computed by the
// real library (testbin/kstatus): Current when Ready, InProgress while the operator has not observed
// the latest generation or while Ready is False; and the standard Reconciling/Stalled conditions, if
// the operator sets them, read as InProgress/Failed. The objects are the Argo CD health-check fixtures.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR } from '../env/helm.ts';
import { ensureKstatus } from '../env/testbin.ts';

const fixtures = join(CHART_DIR, 'argocd/gatehouse.dev');
const kinds = ['ApiProxy', 'ApiPolicy', 'ApiProduct', 'DeveloperApp', 'DataPlane'];

describe('kstatus', () => {
  let runner: string;
  const compute = (file: string) => {
    const run = spawnSync(runner, [file], { encoding: 'utf8' });
    expect(run.stderr).toBe('');
    return JSON.parse(run.stdout) as { status: string; message: string };
  };

  beforeAll(() => {
    runner = ensureKstatus((line) => process.stdout.write(`[kstatus] ${line}\n`));
  });

  it.each(kinds)('%s: Current when Ready', (kind) => {
    expect(compute(join(fixtures, kind, 'testdata/healthy.yaml'))).toEqual({
      status: 'Current',
      message: 'Resource is Ready',
    });
  });

  it.each(kinds)('%s: InProgress while observedGeneration lags generation', (kind) => {
    const result = compute(join(fixtures, kind, 'testdata/generation-not-observed.yaml'));
    expect(result.status).toBe('InProgress');
    expect(result.message).toMatch(new RegExp(`^${kind} generation is \\d+, but latest observed generation is \\d+$`));
  });

  it.each(kinds)('%s: InProgress, with the Ready message, while Ready is False', (kind) => {
    const result = compute(join(fixtures, kind, 'testdata/not-accepted.yaml'));
    expect(result.status).toBe('InProgress');
    expect(result.message).not.toBe('');
  });

  it('reads Stalled=True as Failed and Reconciling=True as InProgress, before Ready', () => {
    const dir = mkdtempSync(join(tmpdir(), 'kstatus-'));
    const base = parse(readFileSync(join(fixtures, 'ApiProxy/testdata/healthy.yaml'), 'utf8')) as {
      status: { conditions: object[] };
    };
    const withCondition = (type: string, reason: string, message: string) => {
      const object = structuredClone(base);
      object.status.conditions.push({
        type,
        status: 'True',
        reason,
        message,
        observedGeneration: 2,
        lastTransitionTime: '2026-11-28T10:00:00Z',
      });
      const file = join(dir, `${type}.yaml`);
      writeFileSync(file, stringify(object));
      return file;
    };
    expect(compute(withCondition('Stalled', 'Invalid', 'spec.basePath: must start with /'))).toEqual({
      status: 'Failed',
      message: 'spec.basePath: must start with /',
    });
    expect(compute(withCondition('Reconciling', 'Compiling', 'compiling generation 2'))).toEqual({
      status: 'InProgress',
      message: 'compiling generation 2',
    });
  });
});
