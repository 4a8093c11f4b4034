// Golden files: testdata/<scenario>/input (a bundle) + optional options.json -> expected/, the YAML
// files the importer writes and report.json (its report, paths relative to the scenario).
// UPDATE_GOLDEN=1 rewrites expected/. Every scenario's output is also compiled as `gatehouse compile
// -f` reads it, with zero errors.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../compile/compile.ts';
import { collectDiagnostics } from '../pipeline/diagnostics.ts';
import { loadFolder } from '../source/folder.ts';
import { policyConverters } from './policies/index.ts';
import { importBundles, type ImportReport } from './run.ts';

const testdata = join(import.meta.dirname, 'testdata');
const scenarios = readdirSync(testdata)
  .filter((d) => existsSync(join(testdata, d, 'input')))
  .sort();
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-import-golden-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(scenario: string): { report: ImportReport; out: string } {
  const dir = join(testdata, scenario);
  const optionsFile = join(dir, 'options.json');
  const options = existsSync(optionsFile)
    ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as { namespace?: string; virtualHosts?: Record<string, string[]> })
    : {};
  const out = join(scratch, scenario);
  const report = importBundles({ paths: [join(dir, 'input')], output: out, ...options });
  return { report, out };
}

/** The report with machine paths made relative, as the golden file holds it. */
function portable(report: ImportReport, scenario: string, out: string): string {
  const json = JSON.stringify(report, null, 2).replaceAll(join(testdata, scenario), '.').replaceAll(out, 'OUT');
  return `${json}\n`;
}

describe('import golden scenarios', () => {
  it.each(scenarios)('%s', (scenario) => {
    const { report, out } = run(scenario);
    const expectedDir = join(testdata, scenario, 'expected');
    const files = new Map<string, string>([['report.json', portable(report, scenario, out)]]);
    for (const b of report.bundles)
      if (b.output) for (const f of readdirSync(b.output).sort()) files.set(f, readFileSync(join(b.output, f), 'utf8'));
    if (process.env.UPDATE_GOLDEN === '1') {
      rmSync(expectedDir, { recursive: true, force: true });
      mkdirSync(expectedDir, { recursive: true });
      for (const [f, text] of files) writeFileSync(join(expectedDir, f), text);
    }
    expect([...files.keys()].sort()).toEqual(readdirSync(expectedDir).sort());
    for (const [f, text] of files) expect(text, f).toBe(readFileSync(join(expectedDir, f), 'utf8'));
  });

  // The bundles of a scenario go to one namespace together (a FlowCallout's SharedFlow is another bundle).
  it.each(scenarios)('%s: gatehouse compile accepts the output with zero errors', (scenario) => {
    const { report } = run(scenario);
    const loaded = report.bundles.map((b) => {
      expect(b.error).toBeUndefined();
      return loadFolder(b.output!);
    });
    const result = compile(
      loaded.flatMap((l) => l.objects),
      { credentialHashKey: 'import-golden' },
    );
    expect(
      collectDiagnostics(
        loaded.flatMap((l) => l.diagnostics),
        result,
      ).errors,
    ).toEqual([]);
  });

  it('converts at least one policy of every type in the converter table', () => {
    const converted = new Set(
      scenarios.flatMap((s) =>
        run(s).report.bundles.flatMap((b) => b.policies.filter((p) => p.converted).map((p) => p.type)),
      ),
    );
    expect([...policyConverters.map((c) => c.type)].filter((t) => !converted.has(t))).toEqual([]);
  });
});
