// Runs the real CLI, as a GitOps pipeline would.
import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = join(import.meta.dirname, '../..');
const run = promisify(execFile);

async function gatehouse(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(
      join(repo, 'node_modules/.bin/node'),
      [join(repo, 'bin/gatehouse.js'), ...args],
      { cwd: repo },
    );
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

describe('gatehouse compile', () => {
  it('prints every error as file: Kind/namespace/name: field.path: message and exits 1', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-compile-'));
    cpSync(join(repo, 'examples'), dir, { recursive: true });
    writeFileSync(
      join(dir, 'bad.yaml'),
      [
        'apiVersion: gatehouse.dev/v1alpha1',
        'kind: ApiProxy',
        'metadata: {name: broken, namespace: shop}',
        'spec: {basePath: /broken, target: {url: "http://127.0.0.1:9090", service: {name: s, port: 80}}}',
        '---',
        'apiVersion: gatehouse.dev/v1alpha1',
        'kind: ApiPolicy',
        'metadata: {name: python, namespace: shop}',
        'spec: {type: GenerateSAMLAssertion, generateSAMLAssertion: {source: x}}',
        '',
      ].join('\n'),
    );
    const out = join(dir, 'out.json');
    const { code, stderr } = await gatehouse('compile', '-f', dir, '-o', out);
    const file = join(dir, 'bad.yaml').replace(`${repo}/`, '');
    expect(stderr).toContain(
      `${file}: ApiProxy/shop/broken: spec.target: set exactly one of url, service or targets\n`,
    );
    expect(stderr).toMatch(
      new RegExp(`${file}: ApiPolicy/shop/python: spec\\.type: must be one of Quota, SpikeArrest, [A-Za-z0-9, ]+\n`),
    );
    expect(stderr).toContain(`${file}: ApiPolicy/shop/python: spec.generateSAMLAssertion: unknown field\n`);
    expect(stderr).toContain('3 error(s)');
    expect(code).toBe(1);
    expect(() => readFileSync(out)).toThrow();
  });

  it('writes the snapshot with -o and exits 0 on a good folder, warnings on stderr', async () => {
    const out = join(mkdtempSync(join(tmpdir(), 'gh-compile-')), 'snapshot.json');
    const { code, stderr } = await gatehouse('compile', '-f', 'examples', '-o', out);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^warning: .*development key/m);
    const snapshot = JSON.parse(readFileSync(out, 'utf8')) as {
      version: string;
      runtime: { version: string };
      envoy: Record<string, unknown[]>;
      errors: unknown[];
    };
    expect(snapshot.version).toMatch(/^[0-9a-f]{64}$/);
    expect(snapshot.runtime.version).toBe(snapshot.version);
    expect(Object.keys(snapshot.envoy).sort()).toEqual(['clusters', 'endpoints', 'listeners', 'routes']);
    expect(snapshot.errors).toEqual([]);
  });

  it('writes the same bytes twice', async () => {
    const [a, b] = await Promise.all([gatehouse('compile', '-f', 'examples'), gatehouse('compile', '-f', 'examples')]);
    expect(a.code).toBe(0);
    expect(a.stdout).toBe(b.stdout);
  });

  it('is a usage error (exit 2) without -f', async () => {
    const { code, stderr } = await gatehouse('compile');
    expect(code).toBe(2);
    expect(stderr).toContain('-f DIR is required');
  });
});
