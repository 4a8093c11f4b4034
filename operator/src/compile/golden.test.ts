// Golden files: testdata/<scenario>/input.yaml (+ optional options.json) -> expected.json holding the
// snapshot, diagnostics and object statuses. UPDATE_GOLDEN=1 rewrites the expected files. Every Envoy
// resource of every scenario is also encoded with Envoy's real protos, and the SDS secrets compile
// lists are held to the ones its Envoy resources name.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseManifests } from '../source/folder.ts';
import { canonicalJson } from './canonical-json.ts';
import { compile, type CompileOptions } from './compile.ts';
import protobuf from 'protobufjs';
import { encodeEnvoyJson, encodeStrict, envoyCollectionTypes } from '../xds/envoy-codec.ts';

const testdata = join(import.meta.dirname, 'testdata');
const runtimeRoot = protobuf.loadSync(join(import.meta.dirname, '../../../protos/gatehouse/v1/runtime.proto'));
const scenarios = readdirSync(testdata)
  .filter((d) => existsSync(join(testdata, d, 'input.yaml')))
  .sort();

function run(scenario: string) {
  const dir = join(testdata, scenario);
  const { objects, diagnostics } = parseManifests(readFileSync(join(dir, 'input.yaml'), 'utf8'), 'input.yaml');
  expect(diagnostics).toEqual([]);
  const optionsFile = join(dir, 'options.json');
  const options: CompileOptions = {
    credentialHashKey: 'golden-test-key',
    ...(existsSync(optionsFile) ? (JSON.parse(readFileSync(optionsFile, 'utf8')) as CompileOptions) : {}),
  };
  return compile(objects, options);
}

describe('golden scenarios', () => {
  it('has at least 12 scenarios', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(12);
  });

  it.each(scenarios)('%s', (scenario) => {
    // secretRefs restate what the Envoy resources say (the cross-check below holds them to it).
    const result = run(scenario);
    const { secretRefs: _secretRefs, dataPlanes, ...whole } = result.snapshot;
    // Each DataPlane's view: what it names, and its runtime by what it holds (a filter of the whole runtime).
    const views = dataPlanes.map(({ runtime, ...view }) => ({
      ...view,
      runtime: {
        proxies: (runtime.proxies ?? []).map((p) => p.route),
        products: (runtime.products ?? []).map((p) => `${p.namespace}/${p.name}`),
        apps: (runtime.apps ?? []).map((a) => `${a.namespace}/${a.name}`),
        dataPlanes: runtime.dataPlanes,
        policySecrets: Object.keys(runtime.policySecrets ?? {}),
        ...(runtime.keyValueMaps?.length
          ? { keyValueMaps: runtime.keyValueMaps.map((m) => `${m.namespace}/${m.name}`) }
          : {}),
        ...(runtime.sharedFlows?.length
          ? { sharedFlows: runtime.sharedFlows.map((f) => `${f.namespace}/${f.name}`) }
          : {}),
        // Whole: each view merges its own DataPlane's debugMask in.
        ...(runtime.debugSessions?.length ? { debugSessions: runtime.debugSessions } : {}),
      },
    }));
    // Debug session outcomes only where there are DebugSessions (18-debug-sessions).
    const { debugSessions, ...rest } = result;
    const actual = `${canonicalJson({ ...rest, ...(debugSessions.length > 0 ? { debugSessions } : {}), snapshot: { ...whole, dataPlanes: views } }, 2)}\n`;
    const expectedFile = join(testdata, scenario, 'expected.json');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
    expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
  });

  it.each(scenarios)("%s: every Envoy resource encodes with Envoy's protos", (scenario) => {
    const { envoy } = run(scenario).snapshot;
    for (const [collection, typeName] of Object.entries(envoyCollectionTypes)) {
      for (const resource of envoy[collection as keyof typeof envoyCollectionTypes]) {
        expect(encodeEnvoyJson(typeName, resource).length).toBeGreaterThan(0);
      }
    }
  });
});

/**
 * What a walk of the JSON finds: every SdsSecretConfig over ADS (filesystem SDS is Envoy's own
 * business), and what it must hold by where it sits. A cross-check for tests only: compile records its
 * secrets as it emits them.
 */
function sdsSecretsNamedIn(envoy: unknown): { name: string; holds: string }[] {
  const found = new Map<string, string>();
  const walk = (value: unknown, key: string): void => {
    if (Array.isArray(value)) {
      for (const v of value) walk(v, key);
      return;
    }
    if (typeof value !== 'object' || value === null) return;
    const obj = value as Record<string, unknown>;
    if ((obj.sds_config as { ads?: unknown } | undefined)?.ads !== undefined) {
      const holds = { tls_certificate_sds_secret_configs: 'certificate', validation_context_sds_secret_config: 'ca' }[
        key
      ];
      expect(holds, `${String(obj.name)} under ${key}`).toBeDefined();
      expect(found.get(obj.name as string) ?? holds, `${String(obj.name)} holds one thing`).toBe(holds);
      found.set(obj.name as string, holds!);
    }
    for (const [k, v] of Object.entries(obj)) walk(v, k);
  };
  walk(envoy, '');
  return [...found].map(([name, holds]) => ({ name, holds })).sort((a, b) => (a.name < b.name ? -1 : 1));
}

describe('golden SDS secret references', () => {
  it.each(scenarios)('%s: secretRefs are exactly the SDS secrets the Envoy resources name', (scenario) => {
    const { envoy, secretRefs } = run(scenario).snapshot;
    expect(secretRefs.map(({ name, holds }) => ({ name, holds }))).toEqual(sdsSecretsNamedIn(envoy));
    for (const ref of secretRefs) {
      const m = /^(tls|ca):([^/]+)\/(.+)$/.exec(ref.name);
      expect(m?.slice(1), ref.name).toEqual([ref.holds === 'certificate' ? 'tls' : 'ca', ref.namespace, ref.secret]);
    }
  });

  it('the scenarios name both kinds of secret, so the cross-check has something to check', () => {
    const all = scenarios.flatMap((s) => run(s).snapshot.secretRefs.map((r) => r.holds));
    expect(new Set(all)).toEqual(new Set(['certificate', 'ca']));
  });
});

describe('golden runtime snapshots', () => {
  it.each(scenarios)('%s: the runtime snapshot is strict proto3 JSON of gatehouse.v1.RuntimeSnapshot', (scenario) => {
    expect(
      encodeStrict(runtimeRoot, 'gatehouse.v1.RuntimeSnapshot', run(scenario).snapshot.runtime).length,
    ).toBeGreaterThan(0);
  });
});

describe('golden DataPlane views', () => {
  /** Every string value under `key` anywhere in `value`. */
  const valuesOf = (value: unknown, key: string): string[] => {
    if (Array.isArray(value)) return value.flatMap((v) => valuesOf(v, key));
    if (typeof value !== 'object' || value === null) return [];
    return Object.entries(value).flatMap(([k, v]) => (k === key && typeof v === 'string' ? [v] : valuesOf(v, key)));
  };

  it.each(scenarios)('%s: each view is closed (names all it uses) and names nothing else', (scenario) => {
    const { envoy, dataPlanes } = run(scenario).snapshot;
    const pick = <T>(items: T[], names: string[], name: (i: T) => string | undefined) =>
      items.filter((i) => names.includes(name(i) ?? ''));
    for (const view of dataPlanes) {
      const listeners = pick(envoy.listeners, view.names.listeners, (l) => l.name);
      const routes = pick(envoy.routes, view.names.routes, (r) => r.name);
      const clusters = pick(envoy.clusters, view.names.clusters, (c) => c.name);
      expect(listeners.map((l) => l.name)).toEqual(view.names.listeners);
      expect(listeners.every((l) => l.name!.startsWith(`${view.dataPlane}/`))).toBe(true);
      expect([...new Set(valuesOf(listeners, 'route_config_name'))].sort()).toEqual(view.names.routes);
      const routeClusters = valuesOf(routes, 'cluster');
      const extProc = valuesOf(listeners, 'cluster_name');
      expect([...new Set([...routeClusters, ...extProc])].sort()).toEqual(view.names.clusters);
      // Listeners name two kinds of cluster: the DataPlane's extproc and, when it traces, its collector.
      expect(extProc.filter((c) => !c.startsWith('gatehouse-otel/'))).toEqual(
        extProc.filter((c) => !c.startsWith('gatehouse-otel/')).map(() => `gatehouse-extproc/${view.dataPlane}`),
      );
      expect(extProc.filter((c) => c.startsWith('gatehouse-otel/'))).toEqual(
        extProc.filter((c) => c.startsWith('gatehouse-otel/')).map(() => `gatehouse-otel/${view.dataPlane}`),
      );
      expect(sdsSecretsNamedIn([listeners, clusters]).map((s) => s.name)).toEqual(view.names.secrets);
      const routeNames = [...new Set(valuesOf(routes, 'name').filter((n) => /^[^/]+\/[^/]+$/.test(n)))].sort();
      // Route names are "namespace/name" (route tables have two slashes, virtual hosts none).
      expect((view.runtime.proxies ?? []).map((p) => p.route).sort()).toEqual(routeNames);
      expect((view.runtime.dataPlanes ?? []).map((d) => `${d.namespace}/${d.name}`)).toEqual([view.dataPlane]);
    }
  });
});
