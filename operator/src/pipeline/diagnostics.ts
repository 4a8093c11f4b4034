// Diagnostics as the operator (both modes) and `gatehouse compile` report them: the source's own
// (files that do not read or parse) with compile's errors and warnings. The operator logs each one
// once, when it first appears, and says what happens to the object: left out, or served at its last
// accepted revision.
import type { Logger } from '../../../lib/log.ts';
import type { CompileResult } from '../compile/compile.ts';
import { formatDiagnostic, sortDiagnostics, type Diagnostic } from '../compile/diagnostics.ts';
import type { SdsProblem } from '../xds/sds.ts';

export interface Report {
  errors: Diagnostic[];
  warnings: Diagnostic[];
}

/** The source's diagnostics and compile's, split by severity, each list sorted (file, line, object). */
export function collectDiagnostics(
  source: readonly Diagnostic[],
  compiled: Pick<CompileResult, 'errors' | 'warnings'>,
): Report {
  const all = [...source, ...compiled.errors, ...compiled.warnings];
  return {
    errors: sortDiagnostics(all.filter((d) => d.severity === 'error')),
    warnings: sortDiagnostics(all.filter((d) => d.severity === 'warning')),
  };
}

/** How `gatehouse compile` prints a diagnostic (`warning: ` in front of warnings). */
export function cliLine(d: Diagnostic): string {
  return `${d.severity === 'warning' ? 'warning: ' : ''}${formatDiagnostic(d)}`;
}

export interface RebuildReport {
  /** Diagnostics of the source itself: their messages say what keeps serving. */
  source: readonly Diagnostic[];
  /** compile's errors and warnings. */
  compile: readonly Diagnostic[];
  /** `Kind/namespace/name` of objects served at their last accepted revision. */
  fallbacks: ReadonlyMap<string, unknown>;
  /** SDS secrets the snapshot names that cannot be served. */
  sds: readonly SdsProblem[];
}

/**
 * Logs each diagnostic once, when it first appears: a rebuild with the same problems stays quiet,
 * and a problem that went away and came back is logged again. Errors at error level, warnings at
 * warn, with the diagnostic's code, file, line, object and field as fields.
 */
export class DiagnosticLog {
  private previous = new Set<string>();
  private readonly log: Logger;
  private readonly sdsHint: string;

  /** `sdsHint` ends the SDS warning (what to check in this mode). */
  constructor(log: Logger, sdsHint = '') {
    this.log = log;
    this.sdsHint = sdsHint;
  }

  report(r: RebuildReport): void {
    const current = new Set<string>();
    const once = (key: string, write: () => void) => {
      current.add(key);
      if (!this.previous.has(key)) write();
    };
    const write = (d: Diagnostic, line: string) =>
      once(`${d.severity}\0${line}`, () => {
        const fields = {
          code: d.code,
          file: d.file,
          line: d.line,
          kind: d.kind,
          namespace: d.namespace,
          name: d.name,
          field: d.field,
        };
        if (d.severity === 'error') this.log.error(fields, line);
        else this.log.warn(fields, line);
      });
    for (const d of sortDiagnostics([...r.source])) write(d, formatDiagnostic(d));
    for (const d of sortDiagnostics([...r.compile])) {
      const line = formatDiagnostic(d);
      if (d.severity !== 'error') write(d, line);
      else {
        const key = d.kind === undefined ? undefined : `${d.kind}/${d.namespace ?? ''}/${d.name ?? ''}`;
        const served = key !== undefined && r.fallbacks.has(key);
        write(d, `${line} ${served ? '(its last accepted revision keeps serving)' : '(left out; the rest ships)'}`);
      }
    }
    for (const p of r.sds) {
      once(`sds\0${p.resource}\0${p.reason}`, () =>
        this.log.warn(
          { secret: p.secret, sds: p.resource, reason: p.reason },
          `SDS secret not served (Envoy keeps the last good one, or waits)${this.sdsHint}`,
        ),
      );
    }
    this.previous = current;
  }
}
