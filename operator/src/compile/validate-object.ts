// One object checked by itself, as the admission webhook sees it (operator/src/admission): the
// compiler's own intake and resolve steps run on an inventory of that object alone, and only what is
// wrong inside it counts. A reference to another object (a step's ApiPolicy, a Secret, a product) is
// never a reason to refuse: GitOps applies objects in any order, and the referent may come next.
// Checks that depend on other objects (link-local targets, which every DataPlane must allow; base-path
// and consumer-key contests) are left to compile, which reports them in status.
import type { Diagnostic } from './diagnostics.ts';
import { takeIn } from './intake.ts';
import { resolveDataPlanes } from './resolve-dataplanes.ts';
import { resolveKeyValueMaps } from './resolve-keyvaluemaps.ts';
import { resolvePolicies } from './resolve-policies.ts';
import { resolveProxies } from './resolve-proxies.ts';
import { resolveSharedFlows } from './resolve-shared-flows.ts';

export interface ObjectValidation {
  /** Problems inside the object (Accepted=False in compile), each naming its field. */
  errors: Diagnostic[];
  /** Compile warnings about the object (an inline credential, ...). */
  warnings: Diagnostic[];
}

export function validateObject(object: unknown): ObjectValidation {
  const diagnostics: Diagnostic[] = [];
  const report = (d: Diagnostic) => {
    diagnostics.push(d);
  };
  const inventory = takeIn([{ object }], report);
  resolveDataPlanes(inventory, report);
  const policies = resolvePolicies(inventory, report);
  // Whether a link-local target is allowed, and which listeners admit a proxy, is the DataPlanes' say,
  // not this object's: no DataPlanes, so no listener check (attach.ts).
  resolveProxies(inventory, policies, report, { allowLinkLocalTargets: true }, []);
  resolveKeyValueMaps(inventory, report);
  resolveSharedFlows(inventory, policies, report);
  // ApiProducts and DeveloperApps hold only references (resolve-consumers.ts): nothing to check alone.
  const own = diagnostics.filter((d) => d.condition !== 'ResolvedRefs');
  return {
    errors: own.filter((d) => d.severity === 'error'),
    warnings: own.filter((d) => d.severity === 'warning'),
  };
}
