// charts/gatehouse through the real helm (built from the Go module proxy on first use): it lints
// strictly, renders the operator as designed, refuses misspelt values, binds exactly the rules file,
// and what it renders (and the DataPlane example) is accepted by the real kube-apiserver.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyManifests } from '../env/apply.ts';
import { ENV } from '../env/env.ts';
import { CHART_DIR, helm, renderChart } from '../env/helm.ts';

const log = (line: string) => process.stdout.write(`[helm] ${line}\n`);
const chart = parse(readFileSync(join(CHART_DIR, 'Chart.yaml'), 'utf8')) as { appVersion: string };
const image = `ghcr.io/gatehouse-dev/gatehouse:${chart.appVersion}`;

type Obj = k8s.KubernetesObject & Record<string, unknown>;
function find(objects: k8s.KubernetesObject[], kind: string, name?: string): Obj {
  const found = objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
  if (!found) throw new Error(`no ${kind} ${name ?? ''} rendered`);
  return found as Obj;
}

function deploymentOf(objects: k8s.KubernetesObject[]): k8s.V1Deployment {
  return find(objects, 'Deployment');
}

describe('charts/gatehouse', () => {
  let rendered: k8s.KubernetesObject[];

  beforeAll(() => {
    rendered = renderChart({ release: 'gh', namespace: 'gatehouse-system', log });
  });

  it('passes helm lint --strict', () => {
    const result = helm(['lint', '--strict', CHART_DIR]);
    expect(result.stderr + result.stdout).toMatch(/1 chart\(s\) linted, 0 chart\(s\) failed/);
    expect(result.status).toBe(0);
  });

  it('renders the operator Deployment: 2 replicas of the appVersion image, the designed args and environment', () => {
    const deployment = deploymentOf(rendered);
    expect(deployment.spec!.replicas).toBe(2);
    const container = deployment.spec!.template.spec!.containers[0]!;
    expect(container.image).toBe(image);
    expect(container.args).toEqual([
      'operator',
      '--operator-namespace=$(POD_NAMESPACE)',
      '--identity=$(POD_NAME)',
      '--xds-port=18000',
      '--metrics-port=8081',
      '--leader-elect=true',
      '--lease-name=gatehouse-operator',
      '--manage-dataplanes=true',
      '--xds-address=gatehouse-xds.gatehouse-system.svc:18000',
      '--xds-tls=issued',
      '--envoy-image=docker.io/envoyproxy/envoy:distroless-v1.36.2',
      `--gatehouse-image=${image}`,
    ]);
    expect(container.env).toEqual(
      expect.arrayContaining([
        { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
        { name: 'POD_NAMESPACE', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      ]),
    );
    expect(container.ports).toEqual([
      { name: 'xds', containerPort: 18000, protocol: 'TCP' },
      { name: 'metrics', containerPort: 8081, protocol: 'TCP' },
    ]);
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.readinessProbe!.httpGet).toEqual({ path: '/readyz', port: 'metrics' });
    expect(container.resources!.requests).toEqual({ cpu: '100m', memory: '128Mi' });
  });

  it('runs the operator non-root with a read-only root filesystem, no capabilities and the runtime seccomp profile', () => {
    const pod = deploymentOf(rendered).spec!.template.spec!;
    expect(pod.serviceAccountName).toBe('gatehouse-operator');
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      runAsUser: 1000,
      seccompProfile: { type: 'RuntimeDefault' },
    });
    expect(pod.containers[0]!.securityContext).toEqual({
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      runAsNonRoot: true,
      capabilities: { drop: ['ALL'] },
      seccompProfile: { type: 'RuntimeDefault' },
    });
  });

  it('spreads the replicas across nodes and keeps one up through disruptions', () => {
    const pod = deploymentOf(rendered).spec!.template.spec!;
    const selector = deploymentOf(rendered).spec!.selector.matchLabels;
    expect(pod.topologySpreadConstraints).toContainEqual(
      expect.objectContaining({
        topologyKey: 'kubernetes.io/hostname',
        maxSkew: 1,
        labelSelector: { matchLabels: selector },
      }),
    );
    const pdb = find(rendered, 'PodDisruptionBudget') as k8s.V1PodDisruptionBudget;
    expect(pdb.spec).toEqual({ maxUnavailable: 1, selector: { matchLabels: selector } });
    expect(deploymentOf(rendered).spec!.strategy!.rollingUpdate).toEqual({ maxUnavailable: 0, maxSurge: 1 });
  });

  it('serves xDS through the gatehouse-xds Service and metrics through another', () => {
    const selector = deploymentOf(rendered).spec!.selector.matchLabels;
    const xds = find(rendered, 'Service', 'gatehouse-xds') as k8s.V1Service;
    expect(xds.spec!.selector).toEqual(selector);
    expect(xds.spec!.ports).toEqual([
      { name: 'grpc-xds', port: 18000, targetPort: 'xds', protocol: 'TCP', appProtocol: 'grpc' },
    ]);
    const metrics = find(rendered, 'Service', 'gh-operator-metrics') as k8s.V1Service;
    expect(metrics.spec!.ports).toEqual([{ name: 'http-metrics', port: 8081, targetPort: 'metrics', protocol: 'TCP' }]);
  });

  it('follows the values: image tag, namespace of the xDS address, watched namespace, extra args', () => {
    const objects = renderChart({
      release: 'gh',
      namespace: 'edge-control',
      set: {
        'image.tag': '1.2.3',
        replicaCount: '3',
        'operator.watchNamespace': 'shop',
        'operator.leaderElection': 'false',
        'operator.extraArgs[0]': '--extproc-address=x:9002',
      },
    });
    const container = deploymentOf(objects).spec!.template.spec!.containers[0]!;
    expect(deploymentOf(objects).spec!.replicas).toBe(3);
    expect(container.image).toBe('ghcr.io/gatehouse-dev/gatehouse:1.2.3');
    expect(container.args).toEqual(
      expect.arrayContaining([
        '--namespace=shop',
        '--leader-elect=false',
        '--xds-address=gatehouse-xds.edge-control.svc:18000',
        '--gatehouse-image=ghcr.io/gatehouse-dev/gatehouse:1.2.3',
        '--extproc-address=x:9002',
      ]),
    );
  });

  it('serves xDS with issued certificates unless operator.xdsTls is off, which needs managed DataPlanes', () => {
    const argsWith = (set: Record<string, string>) =>
      deploymentOf(renderChart({ release: 'gh', set })).spec!.template.spec!.containers[0]!.args!;
    expect(argsWith({})).toContain('--xds-tls=issued');
    expect(argsWith({ 'operator.xdsTls': 'off' }).filter((a) => a.startsWith('--xds-tls'))).toEqual([]);
    expect(argsWith({ 'operator.xdsTls': 'off', 'operator.manageDataPlanes': 'false' })).toContain(
      '--manage-dataplanes=false',
    );
    // The certificates controller (and so the xDS certificate) runs only with managed DataPlanes: refused
    // at render time rather than an operator that exits on start.
    const refused = helm(['template', 'gh', CHART_DIR, '--set', 'operator.manageDataPlanes=false']);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/operator.xdsTls=issued needs operator.manageDataPlanes=true/);
    const wrong = helm(['template', 'gh', CHART_DIR, '--set', 'operator.xdsTls=files']);
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toMatch(/xdsTls/);
  });

  it('prints NOTES that say where DataPlanes dial xDS', () => {
    const install = helm(['install', 'gh', CHART_DIR, '--namespace', 'edge-control', '--dry-run=client']);
    expect(install.status).toBe(0);
    const notes = install.stdout.slice(install.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`image ${image}`);
    expect(notes).toContain('gatehouse-xds.edge-control.svc:18000');
    expect(notes).toContain('kubectl -n edge-control rollout status deployment/gh-operator');
  });

  it('refuses a misspelt value, naming it', () => {
    const top = helm(['template', 'gh', CHART_DIR, '--set', 'replicaCont=3']);
    expect(top.status).not.toBe(0);
    expect(top.stderr).toMatch(/additional properties 'replicaCont' not allowed/);
    const nested = helm(['template', 'gh', CHART_DIR, '--set', 'image.tagg=1.2.3']);
    expect(nested.status).not.toBe(0);
    expect(nested.stderr).toMatch(/at '\/image': additional properties 'tagg' not allowed/);
    const wrongType = helm(['template', 'gh', CHART_DIR, '--set', 'replicaCount=two']);
    expect(wrongType.status).not.toBe(0);
    expect(wrongType.stderr).toMatch(/replicaCount/);
  });

  it('closes every object of values.schema.json (additionalProperties false, or a map of typed values)', () => {
    const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
    const open: string[] = [];
    const walk = (node: Record<string, unknown>, path: string) => {
      if (node.type === 'object' && node.properties !== undefined && node.additionalProperties !== false)
        open.push(path);
      if (
        node.type === 'object' &&
        node.properties === undefined &&
        node.additionalProperties === undefined &&
        path !== '#/definitions/k8sObject'
      )
        open.push(path);
      for (const key of ['properties', 'definitions'] as const) {
        for (const [name, child] of Object.entries((node[key] ?? {}) as Record<string, Record<string, unknown>>))
          walk(child, `${path}/${key}/${name}`);
      }
      for (const key of ['items', 'additionalProperties'] as const) {
        if (typeof node[key] === 'object') walk(node[key] as Record<string, unknown>, `${path}/${key}`);
      }
    };
    walk(schema, '#');
    expect(open).toEqual([]);
    // Every key of values.yaml is in the schema (the schema refuses nothing the defaults set).
    expect(helm(['lint', '--strict', CHART_DIR]).status).toBe(0);
  });

  it('binds exactly files/clusterrole-rules.yaml to the operator ServiceAccount', () => {
    const rules = parseAllDocuments(
      readFileSync(join(CHART_DIR, 'files/clusterrole-rules.yaml'), 'utf8'),
    )[0]!.toJS() as unknown;
    const role = find(rendered, 'ClusterRole', 'gh-operator') as k8s.V1ClusterRole;
    expect(role.rules).toEqual(rules);
    const binding = find(rendered, 'ClusterRoleBinding', 'gh-operator') as unknown as k8s.V1ClusterRoleBinding;
    expect(binding.roleRef).toEqual({
      apiGroup: 'rbac.authorization.k8s.io',
      kind: 'ClusterRole',
      name: 'gh-operator',
    });
    expect(binding.subjects).toEqual([
      { kind: 'ServiceAccount', name: 'gatehouse-operator', namespace: 'gatehouse-system' },
    ]);
    expect(find(rendered, 'ServiceAccount').metadata).toMatchObject({
      name: 'gatehouse-operator',
      namespace: 'gatehouse-system',
    });
    // Nothing else grants permissions.
    expect(
      rendered
        .filter((o) => /Role/.test(o.kind ?? ''))
        .map((o) => o.kind)
        .sort(),
    ).toEqual(['ClusterRole', 'ClusterRoleBinding']);
  });

  it('ships the generated CRDs in crds/, as Helm installs them', () => {
    const crds = renderChart({ release: 'gh', includeCrds: true }).filter((o) => o.kind === 'CustomResourceDefinition');
    const names = crds.map((c) => c.metadata!.name).sort();
    expect(names).toEqual([
      'apipolicies.gatehouse.dev',
      'apiproducts.gatehouse.dev',
      'apiproxies.gatehouse.dev',
      'dataplanes.gatehouse.dev',
      'developerapps.gatehouse.dev',
    ]);
    expect(readdirSync(join(CHART_DIR, 'crds')).sort()).toEqual(
      readdirSync(join(CHART_DIR, '../../crds'))
        .filter((f) => f.endsWith('.yaml'))
        .sort(),
    );
  });

  it('renders objects the real kube-apiserver accepts (server-side dry run), and a valid DataPlane example', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(process.env[ENV.adminKubeconfig]!);
    await applyManifests(kc, [{ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'chart-dry-run' } }]);
    const objects = renderChart({ release: 'chart-dry-run', namespace: 'chart-dry-run' });
    expect(objects.map((o) => o.kind).sort()).toEqual([
      'ClusterRole',
      'ClusterRoleBinding',
      'Deployment',
      'PodDisruptionBudget',
      'Service',
      'Service',
      'ServiceAccount',
    ]);
    await applyManifests(kc, objects, { dryRun: true });

    const example = parseAllDocuments(readFileSync(join(CHART_DIR, 'examples/dataplane.yaml'), 'utf8')).map(
      (d) => d.toJS() as Obj,
    );
    expect(example.map((o) => o.kind)).toEqual(['DataPlane']);
    await applyManifests(kc, [
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: example[0]!.metadata!.namespace! } },
    ]);
    await applyManifests(kc, example, { dryRun: true });
    // The dry run validates for real: the same DataPlane with an HTTPS listener lacking tls is refused.
    const broken = structuredClone(example[0]!) as Obj & { spec: { listeners: { tls?: unknown }[] } };
    delete broken.spec.listeners[1]!.tls;
    await expect(applyManifests(kc, [broken], { dryRun: true })).rejects.toThrow(/HTTPS listeners need tls/);
    const spec = example[0]!.spec as {
      listeners: { port: number; protocol: string; tls?: { issue?: boolean } }[];
      redis: { secretRef?: unknown };
      remediation: { enabled: boolean };
      autoscaling: { enabled: boolean };
    };
    expect(spec.listeners.map((l) => `${l.protocol}:${l.port}:${l.tls?.issue ?? false}`)).toEqual([
      'HTTP:8080:false',
      'HTTPS:8443:true',
    ]);
    expect(spec.redis.secretRef).toBeDefined();
    expect([spec.remediation.enabled, spec.autoscaling.enabled]).toEqual([true, true]);
  });
});
