// Object-scoped diagnostics: every error names its object, and the status condition and reason it
// turns False.
import type { ConditionType, Diagnostic } from './diagnostics.ts';
import { idKey, type Entry, type Inventory } from './intake.ts';

export type Report = (d: Diagnostic) => void;

export interface ObjectReporter {
  /** The object is invalid by itself (Accepted=False). */
  invalid(field: string, message: string, reason?: string, code?: string): void;
  /** A reference does not resolve (ResolvedRefs=False). */
  unresolved(field: string, message: string, reason: 'RefNotFound' | 'RefNotAccepted'): void;
  /** Whether any error was reported through this reporter. */
  readonly failed: boolean;
}

export function reporterFor(entry: Entry<unknown>, report: Report): ObjectReporter {
  let failed = false;
  const at = { ...entry.origin, ...entry.id };
  const error = (field: string, message: string, condition: ConditionType, reason: string, code: string) => {
    failed = true;
    report({ severity: 'error', code, ...at, field, message, condition, reason });
  };
  return {
    invalid: (field, message, reason = 'Invalid', code = 'GH_ERR_COMPILE_INVALID') =>
      error(field, message, 'Accepted', reason, code),
    unresolved: (field, message, reason) => error(field, message, 'ResolvedRefs', reason, 'GH_ERR_COMPILE_REF'),
    get failed() {
      return failed;
    },
  };
}

/** Reports a reference to `kind` namespace/name that is not among the accepted ones. */
/** The message of a reference to an object that does not exist (status readers match it: secretsNotFound). */
export const notFoundMessage = (kind: string, name: string, namespace: string): string =>
  `${kind} "${name}" not found in namespace ${namespace}`;

/** Each Secret a condition message says notFoundMessage of: [text, name, namespace]. */
export function secretsNotFound(message: string): [string, string, string][] {
  return [...message.matchAll(/Secret "([^"]+)" not found in namespace ([a-z0-9-]+)/g)].map((m) => [
    m[0],
    m[1]!,
    m[2]!,
  ]);
}

export function reportMissingRef(
  r: ObjectReporter,
  inventory: Inventory,
  field: string,
  kind: string,
  namespace: string,
  name: string,
): void {
  const rejected = inventory.rejected.has(idKey({ kind, namespace, name }));
  r.unresolved(
    field,
    rejected ? `${kind} "${name}" is not accepted` : notFoundMessage(kind, name, namespace),
    rejected ? 'RefNotAccepted' : 'RefNotFound',
  );
}

/** Map values sorted by key: every stage walks objects in namespace/name order. */
export function sortedValues<T>(map: ReadonlyMap<string, T>): T[] {
  return [...map.keys()].sort().map((k) => map.get(k)!);
}
