// ApiPolicies: a schema-valid ApiPolicy is accepted when its config passes the type's own checks (what
// JSON Schema cannot say). Its type is implemented: the schema's enum holds only implemented types.
import { policyTypesByName } from '../../../protos/policies/index.ts';
import {
  configMapChoiceProblems,
  configMapRefsIn,
  memberPath,
  policySecretId,
  resourceConfigMapLabel,
  secretRefsIn,
  withConfigMapTexts,
  type FoundConfigMapRef,
} from '../../../protos/policies/schema.ts';
import { memberOf } from '../api/apipolicy.ts';
import { idKey, sortedRecord, type Entry, type Inventory } from './intake.ts';
import type { ApiPolicy } from '../api/kinds.ts';
import { inlineCredentials } from './inline-credentials.ts';
import type { IrPolicy } from './ir.ts';
import { reportMissingRef, reporterFor, sortedValues, type Report } from './report.ts';

/** Accepted policies keyed "namespace/name". */
export function resolvePolicies(inventory: Inventory, report: Report): Map<string, IrPolicy> {
  const out = new Map<string, IrPolicy>();
  for (const entry of sortedValues(inventory.policies)) {
    const { spec, metadata } = entry.object;
    const typeSpec = policyTypesByName.get(spec.type)!; // intake validated spec.type against that enum
    const member = memberOf(spec.type)!;
    // {configMapRef: {name, key}}: the text of a key of a ConfigMap of the namespace, put in place of the
    // ref, so the snapshot carries the inline form and extproc never reads a ConfigMap.
    const resolved = withConfigMaps(entry, member, typeSpec.schema, spec[member], inventory, report);
    if (resolved.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    const config = resolved.config;
    // A problem in a text that came from a ConfigMap names the configMapRef the user wrote.
    const problems = (typeSpec.validate?.(config) ?? []).map((p) => {
      const from = resolved.from.find((f) => p.path === memberPath(f, f.textField));
      return from
        ? {
            path: memberPath(from, 'configMapRef'),
            message: `${p.message} (ConfigMap "${from.ref!.name}" key "${from.ref!.key}")`,
          }
        : p;
    });
    if (problems.length > 0) {
      const r = reporterFor(entry, report);
      for (const p of problems)
        r.invalid(`spec.${member}${p.path === '' || p.path.startsWith('[') ? '' : '.'}${p.path}`, p.message);
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    // {secretRef: {name, key}}: a key of a Secret of the namespace. The value goes to the snapshot's
    // policy_secrets, apart from the config, which keeps naming the reference.
    const secrets: Record<string, string> = {};
    const r = reporterFor(entry, report);
    const ns = entry.id.namespace;
    for (const { path, ref } of secretRefsIn(typeSpec.schema, config)) {
      const field = `spec.${member}.${path}.secretRef`;
      const secret = inventory.secrets.get(`${ns}/${ref.name}`);
      if (!secret) {
        reportMissingRef(r, inventory, `${field}.name`, 'Secret', ns, ref.name);
        continue;
      }
      if (!Object.hasOwn(secret.object.values, ref.key)) {
        r.unresolved(`${field}.key`, `Secret "${ref.name}" has no key "${ref.key}"`, 'RefNotAccepted');
        continue;
      }
      secrets[policySecretId(ns, ref)] = secret.object.values[ref.key]!;
    }
    if (r.failed) {
      inventory.rejected.add(idKey(entry.id));
      continue;
    }
    for (const { path } of inlineCredentials(spec.type, config)) {
      report({
        severity: 'warning',
        code: 'GH_WARN_COMPILE_INLINE_CREDENTIAL',
        ...entry.origin,
        ...entry.id,
        field: `spec.${member}.${path}`,
        message:
          'looks like a credential written inline: it stands in the snapshot in clear; use a template of a variable, or BasicAuthentication Encode with a secretRef',
      });
    }
    out.set(`${metadata.namespace}/${metadata.name}`, {
      name: metadata.name,
      type: spec.type,
      continueOnError: spec.continueOnError ?? false,
      enabled: spec.enabled ?? true,
      config,
      spec: typeSpec,
      secrets: sortedRecord(secrets),
    });
  }
  return out;
}

/**
 * The policy's config with every configMapRef replaced by the ConfigMap key's text. A ConfigMap that is
 * missing (or not labelled gatehouse.dev/resource=true), a key it lacks, or a text over the field's
 * bound is reported on the ApiPolicy (ResolvedRefs False) naming the configMapRef field.
 */
function withConfigMaps(
  entry: Entry<ApiPolicy>,
  member: string,
  schema: Parameters<typeof configMapRefsIn>[0],
  config: unknown,
  inventory: Inventory,
  report: Report,
): { failed: boolean; config: unknown; from: FoundConfigMapRef[] } {
  const found = configMapRefsIn(schema, config);
  if (found.length === 0) return { failed: false, config, from: [] };
  const r = reporterFor(entry, report);
  for (const p of configMapChoiceProblems(found)) r.invalid(`spec.${member}.${p.path}`, p.message);
  if (r.failed) return { failed: true, config, from: [] };
  const ns = entry.id.namespace;
  const texts = new Map<string, FoundConfigMapRef & { text: string }>();
  for (const f of found) {
    if (!f.ref) continue;
    const field = `spec.${member}.${memberPath(f, 'configMapRef')}`;
    const configMap = inventory.configMaps.get(`${ns}/${f.ref.name}`);
    if (!configMap) {
      r.unresolved(
        `${field}.name`,
        `ConfigMap "${f.ref.name}" not found in namespace ${ns} (a policy reads only ConfigMaps labelled ${resourceConfigMapLabel}=true)`,
        'RefNotFound',
      );
      continue;
    }
    if (!Object.hasOwn(configMap.object.values, f.ref.key)) {
      r.unresolved(`${field}.key`, `ConfigMap "${f.ref.name}" has no key "${f.ref.key}" in data`, 'RefNotAccepted');
      continue;
    }
    const text = configMap.object.values[f.ref.key]!;
    if (f.maxLength !== undefined && text.length > f.maxLength) {
      r.unresolved(
        `${field}.key`,
        `ConfigMap "${f.ref.name}" key "${f.ref.key}" is ${text.length} characters; ${f.textField} takes at most ${f.maxLength}`,
        'RefNotAccepted',
      );
      continue;
    }
    if (text.length === 0) {
      r.unresolved(`${field}.key`, `ConfigMap "${f.ref.name}" key "${f.ref.key}" is empty`, 'RefNotAccepted');
      continue;
    }
    texts.set(f.path, { ...f, text });
  }
  return r.failed
    ? { failed: true, config, from: [] }
    : { failed: false, config: withConfigMapTexts(config, texts), from: [...texts.values()] };
}
