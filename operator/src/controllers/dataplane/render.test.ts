// Golden files: testdata/<scenario>/input.yaml (a DataPlane), with options.yaml over the default render
// options when present -> expected.yaml (the rendered objects). UPDATE_GOLDEN=1 rewrites the expected files. Also: the inputs are valid DataPlanes, the bootstrap in
// every ConfigMap is strict Envoy proto JSON, and the invariants every object must keep.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, stringify } from 'yaml';
import { loadEnvoyRoot } from '../../../../protos/envoy.ts';
import { kindsByName } from '../../api/kinds.ts';
import { validateSpec } from '../../api/validate.ts';
import { encodeStrict } from '../../xds/envoy-codec.ts';
import { bootstrapProtoFiles, bootstrapType } from './bootstrap.ts';
import { bootstrapHashAnnotation, bootstrapKey, labelKeys } from '../../api/names.ts';
import {
  cpuQuantityCeil,
  renderDataPlane,
  workBudgetMs,
  type DataPlaneObject,
  type KubeObject,
  type RenderOptions,
} from './render.ts';

const goldenOptions: RenderOptions = {
  envoyImage: 'docker.io/envoyproxy/envoy:distroless-v1.36.2',
  gatehouseImage: 'ghcr.io/gatehouse/gatehouse:0.1.0',
  xds: { host: 'gatehouse-xds', port: 18000 },
  operatorNamespace: 'gatehouse-system',
};

const testdata = join(import.meta.dirname, 'testdata');
const scenarios = readdirSync(testdata)
  .filter((d) => existsSync(join(testdata, d, 'input.yaml')))
  .sort();
const input = (scenario: string) =>
  parse(readFileSync(join(testdata, scenario, 'input.yaml'), 'utf8')) as DataPlaneObject;
const optionsFile = (scenario: string) => join(testdata, scenario, 'options.yaml');
const optionsOf = (scenario: string): RenderOptions =>
  existsSync(optionsFile(scenario))
    ? { ...goldenOptions, ...(parse(readFileSync(optionsFile(scenario), 'utf8')) as Partial<RenderOptions>) }
    : goldenOptions;

/** The rendered objects as YAML documents, the way `kubectl get -o yaml` would show them. */
function toYaml(objects: KubeObject[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0, aliasDuplicateObjects: false })).join('---\n');
}

const root = loadEnvoyRoot(bootstrapProtoFiles);

describe('renderDataPlane golden files', () => {
  it('has the scenarios, plain text and mutual TLS', () => {
    expect(scenarios.length).toBeGreaterThanOrEqual(4);
    expect(scenarios.filter((s) => optionsOf(s).mtls === true).length).toBeGreaterThanOrEqual(1);
  });

  it.each(scenarios)('%s: input is a valid DataPlane', (scenario) => {
    expect(validateSpec(kindsByName.get('DataPlane')!, input(scenario).spec).errors).toEqual([]);
  });

  it.each(scenarios)('%s', (scenario) => {
    const actual = toYaml(renderDataPlane(input(scenario), optionsOf(scenario)));
    const expectedFile = join(testdata, scenario, 'expected.yaml');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(expectedFile, actual);
    expect(actual).toBe(readFileSync(expectedFile, 'utf8'));
    // The file parses back to the same objects.
    expect(parseAllDocuments(actual).map((d) => d.toJS() as unknown)).toEqual(
      JSON.parse(JSON.stringify(renderDataPlane(input(scenario), optionsOf(scenario)))),
    );
  });

  it.each(scenarios)('%s: the bootstrap is strict envoy.config.bootstrap.v3.Bootstrap', (scenario) => {
    const configMap = renderDataPlane(input(scenario), optionsOf(scenario)).find((o) => o.kind === 'ConfigMap')!;
    const json = JSON.parse((configMap.data as Record<string, string>)[bootstrapKey]!) as unknown;
    expect(encodeStrict(root, bootstrapType, json).length).toBeGreaterThan(0);
  });
});

describe('renderDataPlane invariants', () => {
  const all = scenarios.map((s) => [s, input(s), optionsOf(s)] as const);

  it.each(all)('%s: every object is owned by the DataPlane, labelled and in its namespace', (_s, dp, options) => {
    for (const o of renderDataPlane(dp, options)) {
      expect(o.metadata.namespace).toBe(dp.metadata.namespace);
      expect(o.metadata.ownerReferences).toEqual([
        {
          apiVersion: 'gatehouse.dev/v1alpha1',
          kind: 'DataPlane',
          name: dp.metadata.name,
          uid: dp.metadata.uid,
          controller: true,
          blockOwnerDeletion: true,
        },
      ]);
      expect(o.metadata.labels).toMatchObject({
        [labelKeys.managedBy]: 'gatehouse',
        [labelKeys.dataPlane]: dp.metadata.name,
        [labelKeys.instance]: dp.metadata.name,
      });
    }
  });

  it.each(all)('%s: is deterministic', (_s, dp, options) => {
    expect(JSON.stringify(renderDataPlane(dp, options))).toBe(
      JSON.stringify(renderDataPlane(structuredClone(dp), structuredClone(options))),
    );
  });

  it('does not modify its input', () => {
    const dp = input('02-https-redis-autoscaling');
    const before = structuredClone(dp);
    renderDataPlane(dp, goldenOptions);
    expect(dp).toEqual(before);
  });

  it('rolls the Envoys when the bootstrap changes, and only then', () => {
    const dp = input('01-minimal');
    const hash = (d: DataPlaneObject, o = goldenOptions) => {
      const deployment = renderDataPlane(d, o).find(
        (x) => x.kind === 'Deployment' && x.metadata.name.endsWith('-envoy'),
      ) as { spec: { template: { metadata: { annotations: Record<string, string> } } } } & KubeObject;
      return deployment.spec.template.metadata.annotations[bootstrapHashAnnotation];
    };
    expect(hash(dp)).toMatch(/^[0-9a-f]{64}$/);
    expect(hash({ ...dp, spec: { envoy: { replicas: 5 } } })).toBe(hash(dp));
    expect(hash({ ...dp, spec: { region: 'elsewhere' } })).not.toBe(hash(dp));
    expect(hash(dp, { ...goldenOptions, xds: { host: 'other', port: 18000 } })).not.toBe(hash(dp));
    expect(hash(dp, { ...goldenOptions, mtls: true })).not.toBe(hash(dp));
  });

  it('never puts a Redis URL from a Secret into the objects', () => {
    const text = JSON.stringify(renderDataPlane(input('02-https-redis-autoscaling'), goldenOptions));
    expect(text).toContain('"secretKeyRef":{"name":"redis-credentials","key":"url"}');
    expect(text).not.toMatch(/redis:\/\//);
  });

  it("gives extproc a work budget under Envoy's message timeout, so extproc refuses slow work first", () => {
    expect(workBudgetMs({})).toBe(180);
    expect(workBudgetMs({ messageTimeout: '2s' })).toBe(1800);
    expect(workBudgetMs({ messageTimeout: '1ms' })).toBe(1);
  });

  it("points extproc's spans at the DataPlane's collector (spec.tracing), by address or Service", () => {
    const dp = input('03-redis-url-low-port-no-pdb');
    const envOf = (spec: object) => {
      const objects = renderDataPlane({ ...dp, spec: { ...dp.spec, ...spec } }, goldenOptions);
      const extproc = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'lab-extproc',
      ) as KubeObject & {
        spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
      };
      return extproc.spec.template.spec.containers[0]!.env.find((e) => e.name === 'OTEL_EXPORTER_OTLP_ENDPOINT')?.value;
    };
    expect(envOf({})).toBeUndefined();
    expect(envOf({ tracing: { collector: { address: '10.0.0.7:4317' } } })).toBe('10.0.0.7:4317');
    expect(
      envOf({ tracing: { collector: { service: { name: 'otel', namespace: 'observability', port: 4317 } } } }),
    ).toBe('otel.observability.svc:4317');
  });

  it('gives extproc --workers from its CPU request only with Redis and without a CPU limit (else extproc reads cpu.max, or runs one)', () => {
    const dp = input('03-redis-url-low-port-no-pdb');
    const argsOf = (spec: object) => {
      const objects = renderDataPlane({ ...dp, spec: { ...dp.spec, ...spec } }, goldenOptions);
      const extproc = objects.find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'lab-extproc',
      ) as KubeObject & {
        spec: { template: { spec: { containers: { args: string[] }[] } } };
      };
      const args = extproc.spec.template.spec.containers[0]!.args;
      const i = args.indexOf('--workers');
      return i < 0 ? undefined : args[i + 1];
    };
    const resources = (r: object) => ({ extproc: { ...dp.spec.extproc, resources: r } });
    expect(argsOf(resources({ requests: { cpu: '1500m' } }))).toBe('2');
    expect(argsOf(resources({ requests: { cpu: '250m' } }))).toBe('1');
    expect(argsOf(resources({ requests: { cpu: 200 } }))).toBe('16');
    expect(argsOf(resources({ requests: { cpu: '4' }, limits: { cpu: '2' } }))).toBeUndefined();
    expect(argsOf({ redis: undefined, ...resources({ requests: { cpu: '4' } }) })).toBeUndefined();
    expect([cpuQuantityCeil('2'), cpuQuantityCeil('0.5'), cpuQuantityCeil('100m'), cpuQuantityCeil(3)]).toEqual([
      2, 1, 1, 3,
    ]);
    for (const bad of ['', '2Gi', '-1', '0', 'lots', undefined, null, {}]) expect(cpuQuantityCeil(bad)).toBeUndefined();
  });

  it('mounts spec.tracing.tls Secrets in extproc and names them in the OTEL_EXPORTER_OTLP_* variables', () => {
    const dp = input('03-redis-url-low-port-no-pdb');
    type Container = {
      args: string[];
      env: { name: string; value?: string }[];
      volumeMounts: { name: string; mountPath: string }[];
    };
    const objects = renderDataPlane(
      {
        ...dp,
        spec: {
          ...dp.spec,
          tracing: {
            collector: { address: 'otel.example:4317' },
            tls: {
              caSecretRef: { name: 'otel-ca' },
              clientCertificateSecretRef: { name: 'otel-client' },
              serverName: 'otel.example',
            },
          },
        },
      },
      goldenOptions,
    );
    const extproc = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'lab-extproc') as KubeObject & {
      spec: {
        template: { spec: { containers: Container[]; volumes: { name: string; secret?: { secretName: string } }[] } };
      };
    };
    const pod = extproc.spec.template.spec;
    const env = Object.fromEntries(pod.containers[0]!.env.map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/gatehouse/otlp/ca/ca.crt',
      OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE: '/etc/gatehouse/otlp/client/tls.crt',
      OTEL_EXPORTER_OTLP_CLIENT_KEY: '/etc/gatehouse/otlp/client/tls.key',
    });
    expect(pod.containers[0]!.args.join(' ')).toContain('--otlp-tls-server-name otel.example');
    expect(pod.volumes.filter((v) => v.name.startsWith('otlp-')).map((v) => v.secret?.secretName)).toEqual([
      'otel-ca',
      'otel-client',
    ]);
    expect(pod.containers[0]!.volumeMounts.map((m) => m.mountPath)).toEqual(
      expect.arrayContaining(['/etc/gatehouse/otlp/ca', '/etc/gatehouse/otlp/client']),
    );
  });

  it('keeps the Redis URL out of the arguments', () => {
    const objects = renderDataPlane(input('03-redis-url-low-port-no-pdb'), goldenOptions);
    const extproc = objects.find((o) => o.kind === 'Deployment' && o.metadata.name === 'lab-extproc') as KubeObject & {
      spec: { template: { spec: { containers: { args: string[] }[] } } };
    };
    expect(extproc.spec.template.spec.containers[0]!.args.join(' ')).not.toContain('redis://');
  });

  it('never copies a password from a literal Redis URL into the workloads (the compiler refuses that DataPlane)', () => {
    const dp = input('03-redis-url-low-port-no-pdb');
    const withPassword = {
      ...dp,
      spec: { ...dp.spec, redis: { url: 'rediss://:hunter2-pw@redis.default.svc:6379/0' } },
    };
    const text = JSON.stringify(renderDataPlane(withPassword, goldenOptions));
    expect(text).not.toContain('hunter2-pw');
    expect(text).not.toContain('GATEHOUSE_REDIS_URL');
    expect(text).not.toContain('--redis-mode');
    // Without a password the URL is used as it is.
    expect(JSON.stringify(renderDataPlane(dp, goldenOptions))).toContain('redis://redis.default.svc:6379/0');
  });
});
