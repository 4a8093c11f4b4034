// What compile reports instead of throwing: one Diagnostic per problem, naming the object and the
// field, in the `file: Kind/namespace/name: field.path: message` shape the CLI prints.

/** The status condition a diagnostic turns False on its object. */
export type ConditionType = 'Accepted' | 'ResolvedRefs';

export interface Diagnostic {
  severity: 'error' | 'warning';
  /** Stable code, e.g. GH_ERR_COMPILE_INVALID. */
  code: string;
  /** Where the object came from (folder mode); absent for objects read from a cluster. */
  file?: string;
  line?: number;
  kind?: string;
  namespace?: string;
  name?: string;
  /** "spec.flows.preFlow.request[0].policy" */
  field?: string;
  message: string;
  condition?: ConditionType;
  /** CamelCase status reason, e.g. Invalid, RefNotFound. */
  reason?: string;
}

export function formatDiagnostic(d: Diagnostic): string {
  const parts: string[] = [];
  if (d.file !== undefined) parts.push(d.file);
  if (d.kind !== undefined) parts.push(`${d.kind}/${d.namespace ?? ''}/${d.name ?? ''}`);
  if (d.field !== undefined) parts.push(d.field);
  parts.push(d.message);
  return parts.join(': ');
}

/**
 * Sorts by file, line and object, so output does not depend on document order; one object's
 * diagnostics keep the order compile found them in (the order of its fields).
 */
export function sortDiagnostics(list: Diagnostic[]): Diagnostic[] {
  const key = (d: Diagnostic) => [
    d.file ?? '',
    String(d.line ?? 0).padStart(9, '0'),
    d.kind ?? '',
    d.namespace ?? '',
    d.name ?? '',
  ];
  return [...list].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1;
    return 0;
  });
}
