// `gatehouse import apigee`: find the bundles, convert each on its own (one that fails is reported
// with its error and nothing is written for it; the others still convert), keep what compiles, write
// one folder per bundle, and build the report and the summary table.
import { join } from 'node:path';
import { GatehouseError } from '../../../lib/errors.ts';
import { convertBundle, type PolicyOutcome, type Unsupported } from './convert-bundle.ts';
import { ImportError } from './errors.ts';
import { baseName } from './names.ts';
import { writeBundle } from './output.ts';
import { defaultLimits, findBundles, type BundleInput, type ReadLimits } from './source.ts';
import { keepWhatCompiles } from './verify.ts';

export interface BundleReport {
  source: string;
  /** The folder written; absent when nothing was written (an error, a shared flow). */
  output?: string;
  kind?: string;
  name?: string;
  error?: { code: string; file: string; message: string };
  policies: PolicyOutcome[];
  unsupported: Unsupported[];
}

export interface ImportReport {
  bundles: BundleReport[];
}

export interface ImportOptions {
  paths: readonly string[];
  output: string;
  namespace?: string;
  virtualHosts?: Readonly<Record<string, readonly string[]>>;
  limits?: ReadLimits;
}

const errorOf = (err: unknown, source: string) => {
  if (!(err instanceof GatehouseError)) throw err;
  return { code: err.code, file: err instanceof ImportError ? err.file : source, message: err.message };
};

export function importBundles(options: ImportOptions): ImportReport {
  const limits = options.limits ?? defaultLimits;
  const bundles: BundleReport[] = [];
  const inputs: BundleInput[] = [];
  for (const path of options.paths) {
    try {
      inputs.push(...findBundles(path, limits));
    } catch (err) {
      bundles.push({ source: path, error: errorOf(err, path), policies: [], unsupported: [] });
    }
  }
  const folders = new Set<string>();
  for (const input of inputs) {
    try {
      const converted = convertBundle(input.load(), input.name, {
        ...(options.namespace ? { namespace: options.namespace } : {}),
        ...(options.virtualHosts ? { virtualHosts: options.virtualHosts } : {}),
      });
      keepWhatCompiles(converted);
      converted.unsupported.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
      const entry: BundleReport = {
        source: input.source,
        kind: converted.kind,
        name: converted.name,
        policies: converted.policies,
        unsupported: converted.unsupported,
      };
      if (converted.objects.length > 0) {
        let folder = baseName(input.name);
        for (let i = 2; folders.has(folder); i += 1) folder = `${baseName(input.name)}-${i}`;
        folders.add(folder);
        entry.output = join(options.output, folder);
        writeBundle(entry.output, converted.objects);
      }
      bundles.push(entry);
    } catch (err) {
      bundles.push({
        source: input.source,
        name: input.name,
        error: errorOf(err, input.source),
        policies: [],
        unsupported: [],
      });
    }
  }
  return { bundles };
}

/** The stdout summary: bundles, then policies by type, converted / not. */
export function summaryTable(report: ImportReport): string {
  const b = report.bundles;
  const failed = b.filter((x) => x.error).length;
  const clean = b.filter((x) => !x.error && x.unsupported.length === 0).length;
  const lines = [
    `bundles: ${b.length} (${b.length - failed} converted, ${failed} failed, ${clean} with an empty report)`,
  ];
  for (const x of b.filter((x) => x.error)) lines.push(`  failed: ${x.source}: ${x.error!.message} [${x.error!.code}]`);
  const byType = new Map<string, { converted: number; not: number }>();
  for (const p of b.flatMap((x) => x.policies)) {
    const row = byType.get(p.type) ?? { converted: 0, not: 0 };
    if (p.converted) row.converted += 1;
    else row.not += 1;
    byType.set(p.type, row);
  }
  const rows = [...byType].sort(([a], [c]) => (a < c ? -1 : a > c ? 1 : 0));
  const width = Math.max('policy type'.length, ...rows.map(([t]) => t.length));
  lines.push('', `${'policy type'.padEnd(width)}  converted  not converted`);
  for (const [t, r] of rows)
    lines.push(`${t.padEnd(width)}  ${String(r.converted).padStart(9)}  ${String(r.not).padStart(13)}`);
  const total = rows.reduce((n, [, r]) => ({ c: n.c + r.converted, n: n.n + r.not }), { c: 0, n: 0 });
  lines.push(`${'total'.padEnd(width)}  ${String(total.c).padStart(9)}  ${String(total.n).padStart(13)}`);
  const unsupported = b.reduce((n, x) => n + x.unsupported.length, 0);
  lines.push('', `${unsupported} element(s) did not convert${unsupported > 0 ? ' (see --report FILE)' : ''}`);
  return `${lines.join('\n')}\n`;
}

/** 1 when a bundle failed, or with strict when anything did not convert; else 0. */
export function exitCodeOf(report: ImportReport, strict: boolean): number {
  if (report.bundles.some((b) => b.error)) return 1;
  if (strict && report.bundles.some((b) => b.unsupported.length > 0)) return 1;
  return 0;
}
