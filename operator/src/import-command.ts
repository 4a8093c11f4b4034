// `gatehouse import apigee PATH... -o DIR`: converts Apigee bundles (operator/src/importer), prints
// the summary table, writes the JSON report with --report, and exits 1 when a bundle failed (or, with
// --strict, when anything did not convert). docs/import.md.
import { writeFileSync } from 'node:fs';
import type { ImportCommandOptions } from './command.ts';
import { exitCodeOf, importBundles, summaryTable } from './importer/run.ts';

export function runImport(options: ImportCommandOptions): Promise<number> {
  const report = importBundles({
    paths: options.paths,
    output: options.output,
    ...(options.namespace ? { namespace: options.namespace } : {}),
    virtualHosts: options.virtualHosts,
  });
  if (options.report !== undefined) writeFileSync(options.report, `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(summaryTable(report));
  return Promise.resolve(exitCodeOf(report, options.strict));
}
