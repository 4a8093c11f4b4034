// The importer's promise: what it writes, `gatehouse compile -f DIR` accepts. Each converted bundle is
// compiled as written (YAML text through the folder source's parser, then the compiler); an ApiPolicy
// the compiler refuses is dropped and reported with the compiler's words, the steps naming it are
// dropped from the ApiProxies (and marked), and the rest is compiled again.
import { compile } from '../compile/compile.ts';
import { collectDiagnostics } from '../pipeline/diagnostics.ts';
import { parseManifests } from '../source/folder.ts';
import { ANNOTATION, type ConvertedBundle, type ImportedObject } from './convert-bundle.ts';
import { toYaml } from './output.ts';

const MAX_ROUNDS = 8;

type StepList = { policy: string; condition?: string }[];

/** Removes steps naming `policy` everywhere in an ApiProxy spec; returns where they were. */
function dropSteps(spec: Record<string, unknown>, policy: string): string[] {
  const where: string[] = [];
  const filter = (list: StepList | undefined, at: string) => {
    if (!list) return list;
    const kept = list.filter((s) => s.policy !== policy);
    if (kept.length !== list.length) where.push(at);
    return kept;
  };
  const flows = (spec['flows'] ?? {}) as Record<string, unknown>;
  const phases = (pair: Record<string, unknown>, at: string) => {
    for (const phase of ['request', 'response'])
      if (pair[phase]) pair[phase] = filter(pair[phase] as StepList, `${at}.${phase}`);
  };
  for (const [key, value] of Object.entries(flows)) {
    if (Array.isArray(value)) {
      for (const f of value as Record<string, unknown>[]) phases(f, `flow ${String(f['name'])}`);
    } else phases(value as Record<string, unknown>, key);
  }
  for (const r of (spec['faultRules'] as Record<string, unknown>[] | undefined) ?? [])
    if (r['steps']) r['steps'] = filter(r['steps'] as StepList, `fault rule ${String(r['name'])}`);
  const d = spec['defaultFaultRule'] as Record<string, unknown> | undefined;
  if (d?.['steps']) d['steps'] = filter(d['steps'] as StepList, 'defaultFaultRule');
  // A SharedFlow's steps.
  if (Array.isArray(spec['steps'])) spec['steps'] = filter(spec['steps'] as StepList, 'steps');
  return where;
}

/**
 * A FlowCallout's SharedFlow comes from another bundle (a sharedflowbundle imported beside it), so a
 * bundle compiled alone does not hold it: that reference is not the bundle's fault.
 */
const otherBundleSharedFlow = (e: { condition?: string; message: string }) =>
  e.condition === 'ResolvedRefs' && /\(FlowCallout\) .*SharedFlow "[^"]+" not found/.test(e.message);

export function compileErrors(objects: readonly ImportedObject[]) {
  const text = objects.map(toYaml).join('---\n');
  const loaded = parseManifests(text, 'import.yaml');
  const result = compile(loaded.objects, { credentialHashKey: 'gatehouse-import-check' });
  return collectDiagnostics(loaded.diagnostics, result).errors.filter((e) => !otherBundleSharedFlow(e));
}

/** Drops what the compiler refuses until the rest compiles; records each drop in the bundle's report. */
export function keepWhatCompiles(bundle: ConvertedBundle): void {
  for (let round = 0; round < MAX_ROUNDS; round += 1) {
    const errors = compileErrors(bundle.objects);
    if (errors.length === 0) return;
    // Policies first: an ApiProxy is refused when a step names a refused policy, and dropping the
    // step (next round) is enough for it.
    const policyErrors = errors.filter((e) => e.kind === 'ApiPolicy');
    const refused = new Map<string, string>();
    for (const e of policyErrors.length > 0 ? policyErrors : errors)
      if (e.kind && e.name && !refused.has(`${e.kind}/${e.name}`))
        refused.set(`${e.kind}/${e.name}`, `${e.field ? `${e.field}: ` : ''}${e.message}`);
    if (refused.size === 0) return;
    const kept: ImportedObject[] = [];
    for (const o of bundle.objects) {
      const why = refused.get(`${o.kind}/${o.metadata.name}`);
      if (why === undefined) {
        kept.push(o);
        continue;
      }
      const file = o.metadata.annotations?.[ANNOTATION.source] ?? '';
      const xpath =
        o.kind === 'ApiPolicy'
          ? `/${String(o.spec['type'])}`
          : o.kind === 'SharedFlow'
            ? '/SharedFlow'
            : '/ProxyEndpoint';
      bundle.unsupported.push({ file, xpath, reason: `the compiler refuses the converted ${o.kind}: ${why}` });
      if (o.kind !== 'ApiPolicy') continue;
      const outcome = bundle.policies.find((p) => p.file === file);
      if (outcome) outcome.converted = false;
      for (const proxy of bundle.objects.filter((x) => x.kind === 'ApiProxy' || x.kind === 'SharedFlow')) {
        const where = dropSteps(proxy.spec, o.metadata.name);
        if (where.length === 0) continue;
        const note = where.map((w) => `${w}: ${outcome?.name ?? o.metadata.name} (refused)`).join('; ');
        bundle.unsupported.push({
          file: proxy.metadata.annotations?.[ANNOTATION.source] ?? '',
          xpath: proxy.kind === 'SharedFlow' ? '/SharedFlow' : '/ProxyEndpoint',
          reason: `steps dropped (${where.join(', ')}): policy ${outcome?.name ?? o.metadata.name} was refused`,
        });
        const ann = (proxy.metadata.annotations ??= {});
        ann[ANNOTATION.skippedSteps] = ann[ANNOTATION.skippedSteps] ? `${ann[ANNOTATION.skippedSteps]}; ${note}` : note;
      }
    }
    bundle.objects = kept;
  }
}
