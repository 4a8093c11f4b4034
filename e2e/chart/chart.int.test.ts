// charts/gatehouse through the real helm (built from the Go module proxy on first use): it lints
// strictly, renders the operator as designed, refuses misspelt values, binds exactly the rules file,
// and what it renders (and the DataPlane example) is accepted by the real kube-apiserver.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parse, parseAllDocuments } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { applyManifests, kubeRequest } from '../env/apply.ts';
import { ENV } from '../env/env.ts';
import { CHART_DIR, helm, renderChart } from '../env/helm.ts';
import { renderDataPlane, type DataPlaneObject } from '../../operator/src/controllers/dataplane/render.ts';

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

/** A rules file of the chart (files/...), as the templates include it. */
function rulesFile(path: string): k8s.V1PolicyRule[] {
  return parseAllDocuments(readFileSync(join(CHART_DIR, 'files', path), 'utf8'))[0]!.toJS() as k8s.V1PolicyRule[];
}

/** Every "group resource verb" the rules grant. */
function grantsOf(rules: k8s.V1PolicyRule[]): string[] {
  return [
    ...new Set(
      rules.flatMap((r) =>
        (r.apiGroups ?? []).flatMap((g) =>
          (r.resources ?? []).flatMap((res) => r.verbs.map((v) => `${g} ${res} ${v}`)),
        ),
      ),
    ),
  ].sort();
}

function adminKc(): k8s.KubeConfig {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(process.env[ENV.adminKubeconfig]!);
  return kc;
}

/** Whether each resource (`group resource`, subresources by their parent) is namespaced, from the apiserver's discovery. */
async function namespacedByDiscovery(kc: k8s.KubeConfig, groups: Set<string>): Promise<Map<string, boolean>> {
  const out = new Map<string, boolean>();
  for (const group of groups) {
    let path = '/api/v1';
    if (group !== '') {
      const { body } = await kubeRequest(kc, 'GET', `/apis/${group}`);
      path = `/apis/${(JSON.parse(body) as { preferredVersion: { groupVersion: string } }).preferredVersion.groupVersion}`;
    }
    const { status, body } = await kubeRequest(kc, 'GET', path);
    if (status !== 200) throw new Error(`discovery ${path}: ${status} ${body}`);
    for (const r of (JSON.parse(body) as k8s.V1APIResourceList).resources) out.set(`${group} ${r.name}`, r.namespaced);
  }
  return out;
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
      '--webhook-port=9443',
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
      { name: 'webhook', containerPort: 9443, protocol: 'TCP' },
    ]);
    expect(container.startupProbe).toEqual({
      httpGet: { path: '/healthz', port: 'metrics' },
      periodSeconds: 5,
      timeoutSeconds: 2,
      failureThreshold: 60,
    });
    expect(container.livenessProbe!.httpGet).toEqual({ path: '/healthz', port: 'metrics' });
    expect(container.livenessProbe!.initialDelaySeconds).toBeUndefined(); // the startup probe holds it back
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

  it('serves the admission webhook for our kinds only, with failurePolicy and timeout from the values', () => {
    const selector = deploymentOf(rendered).spec!.selector.matchLabels;
    const service = find(rendered, 'Service', 'gatehouse-webhook') as k8s.V1Service;
    expect(service.spec!.selector).toEqual(selector);
    expect(service.spec!.ports).toEqual([{ name: 'https-webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' }]);
    const config = find(rendered, 'ValidatingWebhookConfiguration', 'gatehouse-validation') as unknown as {
      webhooks: Record<string, unknown>[];
    };
    expect(config.webhooks).toEqual([
      {
        name: 'validate.gatehouse.dev',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Ignore',
        timeoutSeconds: 5,
        matchPolicy: 'Equivalent',
        // No caBundle: the operator's leader keeps it (operator/src/admission/ca-bundle.ts).
        clientConfig: {
          service: { name: 'gatehouse-webhook', namespace: 'gatehouse-system', path: '/validate', port: 443 },
        },
        rules: [
          {
            apiGroups: ['gatehouse.dev'],
            apiVersions: ['*'],
            operations: ['CREATE', 'UPDATE'],
            resources: [
              'apiproxies',
              'apipolicies',
              'apiproducts',
              'developers',
              'developerapps',
              'dataplanes',
              'keyvaluemaps',
              'sharedflows',
            ],
            scope: 'Namespaced',
          },
        ],
      },
    ]);
    const strict = renderChart({
      release: 'gh',
      namespace: 'ops',
      set: { 'webhook.failurePolicy': 'Fail', 'webhook.timeoutSeconds': '2', 'operator.watchNamespace': 'shop' },
    });
    const strictConfig = find(strict, 'ValidatingWebhookConfiguration', 'gatehouse-validation') as unknown as {
      webhooks: Record<string, unknown>[];
    };
    expect(strictConfig.webhooks[0]).toMatchObject({
      failurePolicy: 'Fail',
      timeoutSeconds: 2,
      namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'shop' } },
    });
    const off = renderChart({ release: 'gh', namespace: 'ops', set: { 'webhook.enabled': 'false' } });
    expect(
      off.filter((o) => o.kind === 'ValidatingWebhookConfiguration' || o.metadata?.name === 'gatehouse-webhook'),
    ).toEqual([]);
    expect(deploymentOf(off).spec!.template.spec!.containers[0]!.args!.some((a) => a.startsWith('--webhook'))).toBe(
      false,
    );
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

  it("sizes the operator's V8 heap from its memory limit, or takes operator.nodeOptions as given, and limits malloc's arenas", () => {
    const nodeOptions = (set: Record<string, string>) =>
      deploymentOf(renderChart({ release: 'gh', set })).spec!.template.spec!.containers[0]!.env!.find(
        (e) => e.name === 'NODE_OPTIONS',
      )?.value;
    expect(nodeOptions({})).toBe('--max-old-space-size=307 --max-semi-space-size=16');
    expect(nodeOptions({ 'resources.limits.memory': '2Gi' })).toBe(
      '--max-old-space-size=1228 --max-semi-space-size=16',
    );
    expect(nodeOptions({ 'resources.limits.memory': '1.5Gi' })).toBeUndefined(); // not derived: Node's own sizing
    expect(nodeOptions({ 'operator.nodeOptions': '--max-old-space-size=700' })).toBe('--max-old-space-size=700');
    const env = deploymentOf(renderChart({ release: 'gh' })).spec!.template.spec!.containers[0]!.env!;
    expect(env).toContainEqual({ name: 'MALLOC_ARENA_MAX', value: '2' });
  });

  it('puts every image under global.imageRegistry, and pins the Gatehouse image by digest over the tag', () => {
    const digest = `sha256:${'0123456789abcdef'.repeat(4)}`;
    const images = (set: Record<string, string>) => {
      const container = deploymentOf(renderChart({ release: 'gh', set })).spec!.template.spec!.containers[0]!;
      const arg = (flag: string) => container.args!.find((a) => a.startsWith(`--${flag}=`))!.slice(flag.length + 3);
      return { operator: container.image, gatehouse: arg('gatehouse-image'), envoy: arg('envoy-image') };
    };
    expect(images({ 'global.imageRegistry': 'registry.example.com/mirror' })).toEqual({
      operator: 'registry.example.com/mirror/gatehouse-dev/gatehouse:0.1.0',
      gatehouse: 'registry.example.com/mirror/gatehouse-dev/gatehouse:0.1.0',
      envoy: 'registry.example.com/mirror/envoyproxy/envoy:distroless-v1.36.2',
    });
    // A registry with a port; a reference without a registry of its own gets it in front.
    expect(
      images({
        'global.imageRegistry': 'localhost:5000/',
        envoyImage: 'envoyproxy/envoy:v1.36.2',
        'image.repository': 'gatehouse',
      }),
    ).toEqual({
      operator: 'localhost:5000/gatehouse:0.1.0',
      gatehouse: 'localhost:5000/gatehouse:0.1.0',
      envoy: 'localhost:5000/envoyproxy/envoy:v1.36.2',
    });
    expect(images({ 'image.digest': digest, 'image.tag': '9.9.9' })).toEqual({
      operator: `ghcr.io/gatehouse-dev/gatehouse@${digest}`,
      gatehouse: `ghcr.io/gatehouse-dev/gatehouse@${digest}`,
      envoy: 'docker.io/envoyproxy/envoy:distroless-v1.36.2',
    });
    expect(
      images({
        'image.digest': digest,
        'global.imageRegistry': 'mirror.example.com',
        envoyImage: `docker.io/envoyproxy/envoy@${digest}`,
      }),
    ).toEqual({
      operator: `mirror.example.com/gatehouse-dev/gatehouse@${digest}`,
      gatehouse: `mirror.example.com/gatehouse-dev/gatehouse@${digest}`,
      envoy: `mirror.example.com/envoyproxy/envoy@${digest}`,
    });
    const badDigest = helm(['template', 'gh', CHART_DIR, '--set', 'image.digest=sha256:abc']);
    expect(badDigest.status).not.toBe(0);
    expect(badDigest.stderr).toMatch(/digest/);
    const badRegistry = helm(['template', 'gh', CHART_DIR, '--set', 'global.imageRegistry=has space']);
    expect(badRegistry.status).not.toBe(0);
    const unknownGlobal = helm(['template', 'gh', CHART_DIR, '--set', 'global.imageRegistery=x']);
    expect(unknownGlobal.stderr).toMatch(/additional properties 'imageRegistery' not allowed/);
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

  it('prints NOTES that say where DataPlanes dial xDS, how to upgrade the CRDs and what the credential key Secret is', () => {
    const install = helm(['install', 'gh', CHART_DIR, '--namespace', 'edge-control', '--dry-run=client']);
    expect(install.status).toBe(0);
    const notes = install.stdout.slice(install.stdout.indexOf('NOTES:'));
    expect(notes).toContain(`image ${image}`);
    expect(notes).toContain('gatehouse-xds.edge-control.svc:18000');
    expect(notes).toContain('kubectl -n edge-control rollout status deployment/gh-operator');
    expect(notes).toContain('failurePolicy Ignore, timeout 5s');
    // Upgrades: helm leaves crds/ alone, so they are applied first, taking over the fields helm owns.
    expect(notes).toContain('kubectl apply --server-side --force-conflicts -f charts/gatehouse/crds/');
    // The credential key: what it is, where, and that it is kept and must be backed up.
    expect(notes).toContain('Secret edge-control/gatehouse-credential-hash-key');
    expect(notes).toContain('helm.sh/resource-policy: keep');
    expect(notes).toMatch(/back it up/);
    const own = helm([
      'install',
      'gh',
      CHART_DIR,
      '--namespace',
      'edge-control',
      '--dry-run=client',
      '--set',
      'credentialHashKey.create=false',
    ]);
    expect(own.stdout.slice(own.stdout.indexOf('NOTES:'))).toContain(
      'credentialHashKey.create is false: create it yourself',
    );
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

  describe('namespaced mode (operator.watchNamespace)', () => {
    let objects: k8s.KubernetesObject[];

    beforeAll(() => {
      objects = renderChart({ release: 'gh', namespace: 'ops', set: { 'operator.watchNamespace': 'shop' } });
    });

    it('binds Roles in the watched and the operator namespace, and a ClusterRole for cluster-scoped resources only', () => {
      const subjects = [{ kind: 'ServiceAccount', name: 'gatehouse-operator', namespace: 'ops' }];
      expect(
        objects
          .filter((o) => /Role/.test(o.kind ?? ''))
          .map((o) => `${o.kind} ${o.metadata!.namespace ?? ''}/${o.metadata!.name}`)
          .sort(),
      ).toEqual([
        'ClusterRole /gh-operator',
        'ClusterRoleBinding /gh-operator',
        'Role ops/gh-operator-self',
        'Role shop/gh-operator',
        'RoleBinding ops/gh-operator-self',
        'RoleBinding shop/gh-operator',
      ]);
      const role = (namespace: string, name: string) =>
        objects.find(
          (o) => o.kind === 'Role' && o.metadata!.namespace === namespace && o.metadata!.name === name,
        ) as k8s.V1Role;
      const binding = (namespace: string, name: string) =>
        objects.find(
          (o) => o.kind === 'RoleBinding' && o.metadata!.namespace === namespace && o.metadata!.name === name,
        ) as k8s.V1RoleBinding;
      expect(role('shop', 'gh-operator').rules).toEqual(rulesFile('namespaced/role-rules.yaml'));
      expect(role('ops', 'gh-operator-self').rules).toEqual(rulesFile('namespaced/operator-role-rules.yaml'));
      expect(binding('shop', 'gh-operator').roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'gh-operator',
      });
      expect(binding('ops', 'gh-operator-self').roleRef).toEqual({
        apiGroup: 'rbac.authorization.k8s.io',
        kind: 'Role',
        name: 'gh-operator-self',
      });
      expect(binding('shop', 'gh-operator').subjects).toEqual(subjects);
      expect(binding('ops', 'gh-operator-self').subjects).toEqual(subjects);
      expect((find(objects, 'ClusterRole', 'gh-operator') as k8s.V1ClusterRole).rules).toEqual(
        rulesFile('namespaced/clusterrole-rules.yaml'),
      );
      expect(
        (find(objects, 'ClusterRoleBinding', 'gh-operator') as unknown as k8s.V1ClusterRoleBinding).subjects,
      ).toEqual(subjects);
      expect(deploymentOf(objects).spec!.template.spec!.containers[0]!.args).toContain('--namespace=shop');
    });

    it('grants, across its Roles and ClusterRole, exactly what the all-namespaces ClusterRole grants', () => {
      // The all-namespaces rules are the ones e2e/operator/rbac.int.test.ts proves exact; namespaced
      // mode places each of those grants where it is used (namespaced-rbac.int.test.ts proves that).
      const split = [
        'namespaced/role-rules.yaml',
        'namespaced/operator-role-rules.yaml',
        'namespaced/clusterrole-rules.yaml',
      ].flatMap(rulesFile);
      expect(grantsOf(split)).toEqual(grantsOf(rulesFile('clusterrole-rules.yaml')));
    });

    it("grants no namespaced resource through a ClusterRole, and only namespaced ones through Roles (the apiserver's discovery)", async () => {
      const kc = adminKc();
      const rules = (kind: string) =>
        objects.filter((o) => o.kind === kind).flatMap((o) => (o as k8s.V1Role).rules ?? []);
      const groups = new Set([...rules('ClusterRole'), ...rules('Role')].flatMap((r) => r.apiGroups ?? []));
      const namespaced = await namespacedByDiscovery(kc, groups);
      const scope = (grant: string) => {
        const [group, resource] = grant.split(' ') as [string, string];
        const known = namespaced.get(`${group} ${resource.split('/')[0]}`);
        if (known === undefined) throw new Error(`the apiserver does not serve ${grant}`);
        return known;
      };
      const clusterGrants = grantsOf(rules('ClusterRole'));
      expect(clusterGrants.length).toBeGreaterThan(0);
      expect(clusterGrants.filter(scope)).toEqual([]);
      expect(grantsOf(rules('Role')).filter((g) => !scope(g))).toEqual([]);
      // And in all-namespaces mode the one ClusterRole does grant namespaced resources (the check bites).
      expect(grantsOf(rulesFile('clusterrole-rules.yaml')).filter(scope).length).toBeGreaterThan(0);
    });

    it('renders objects the real kube-apiserver accepts (server-side dry run)', async () => {
      const kc = adminKc();
      await applyManifests(
        kc,
        ['chart-ns-ops', 'chart-ns-shop'].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } })),
      );
      const namespaced = renderChart({
        release: 'chart-ns',
        namespace: 'chart-ns-ops',
        set: { 'operator.watchNamespace': 'chart-ns-shop' },
      });
      await applyManifests(kc, namespaced, { dryRun: true });
    });
  });

  describe('monitoring (Prometheus Operator)', () => {
    const monitoringKinds = ['ServiceMonitor', 'PodMonitor', 'PrometheusRule'];
    const all = {
      'monitoring.serviceMonitor.enabled': 'true',
      'monitoring.podMonitors.extproc.enabled': 'true',
      'monitoring.podMonitors.envoy.enabled': 'true',
      'monitoring.prometheusRule.enabled': 'true',
    };
    type Monitor = Obj & {
      spec: Record<string, unknown> & {
        podMetricsEndpoints?: Record<string, unknown>[];
        endpoints?: Record<string, unknown>[];
        selector: { matchLabels: Record<string, string> };
        namespaceSelector: unknown;
      };
    };
    const monitors = (objects: k8s.KubernetesObject[]) =>
      objects.filter((o) => monitoringKinds.includes(o.kind ?? '')) as Monitor[];
    // The pods the operator renders for a DataPlane, from its own code.
    const dataPlane: DataPlaneObject = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: 'shop', uid: 'u-1' },
      spec: {},
    };
    const pods = renderDataPlane(dataPlane, {
      envoyImage: 'envoy:test',
      gatehouseImage: 'gatehouse:test',
      xds: { host: 'gatehouse-xds', port: 18000 },
      operatorNamespace: 'ops',
    })
      .filter((o) => o.kind === 'Deployment')
      .map((d) => (d as unknown as k8s.V1Deployment).spec!.template);

    it('renders none by default', () => {
      expect(monitors(rendered)).toEqual([]);
    });

    it("scrapes the operator through its metrics Service, keeping the metrics' own namespace label", () => {
      const objects = renderChart({
        release: 'gh',
        namespace: 'ops',
        set: {
          ...all,
          'monitoring.labels.release': 'kps',
          'monitoring.serviceMonitor.labels.team': 'edge',
          'monitoring.scrapeTimeout': '10s',
        },
      });
      const sm = monitors(objects).find((m) => m.kind === 'ServiceMonitor')!;
      expect(sm.apiVersion).toBe('monitoring.coreos.com/v1');
      expect(sm.metadata!.labels).toMatchObject({ release: 'kps', team: 'edge' });
      const service = find(objects, 'Service', 'gh-operator-metrics') as k8s.V1Service;
      expect(service.metadata!.labels).toMatchObject(sm.spec.selector.matchLabels);
      expect(sm.spec.namespaceSelector).toEqual({ matchNames: ['ops'] });
      expect(sm.spec.endpoints).toEqual([
        {
          port: service.spec!.ports![0]!.name,
          path: '/metrics',
          honorLabels: true,
          interval: '30s',
          scrapeTimeout: '10s',
        },
      ]);
      const off = helm([
        'template',
        'gh',
        CHART_DIR,
        '--set',
        'monitoring.serviceMonitor.enabled=true',
        '--set',
        'metrics.service.enabled=false',
      ]);
      expect(off.status).not.toBe(0);
      expect(off.stderr).toMatch(/monitoring.serviceMonitor.enabled needs metrics.service.enabled=true/);
    });

    it('scrapes extproc and Envoy pods of every DataPlane by the labels and ports the operator gives them', () => {
      const objects = renderChart({
        release: 'gh',
        namespace: 'ops',
        set: {
          ...all,
          'monitoring.podMonitors.envoy.interval': '15s',
          'monitoring.podMonitors.envoy.labels.release': 'kps',
        },
      });
      const byName = Object.fromEntries(
        monitors(objects)
          .filter((m) => m.kind === 'PodMonitor')
          .map((m): [string, Monitor] => [m.metadata!.name!, m]),
      );
      expect(Object.keys(byName).sort()).toEqual(['gh-dataplane-envoy', 'gh-dataplane-extproc']);
      expect(byName['gh-dataplane-envoy']!.metadata!.labels).toMatchObject({ release: 'kps' });
      for (const [component, port, path, interval] of [
        ['extproc', 9003, '/metrics', '30s'],
        ['envoy', 9902, '/stats/prometheus', '15s'],
      ] as const) {
        const monitor = byName[`gh-dataplane-${component}`]!;
        expect(monitor.spec.namespaceSelector).toEqual({ any: true });
        // The selector picks this component's pods, and only those.
        const selected = pods.filter((p) =>
          Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => p.metadata!.labels![k] === v),
        );
        expect(selected.map((p) => p.metadata!.labels!['app.kubernetes.io/component'])).toEqual([component]);
        const endpoint = monitor.spec.podMetricsEndpoints![0]!;
        expect(endpoint).toMatchObject({
          path,
          interval,
          relabelings: [
            { sourceLabels: ['__meta_kubernetes_pod_label_gatehouse_dev_dataplane'], targetLabel: 'dataplane' },
          ],
        });
        const ports = selected[0]!.spec!.containers.flatMap((c) => c.ports ?? []);
        expect(ports.find((p) => p.name === endpoint.port)?.containerPort).toBe(port);
        expect(selected[0]!.metadata!.labels!['gatehouse.dev/dataplane']).toBe('edge');
      }
      // Namespaced mode looks in the watched namespace; or where you say.
      const watched = renderChart({ release: 'gh', set: { ...all, 'operator.watchNamespace': 'shop' } });
      expect(
        monitors(watched)
          .filter((m) => m.kind === 'PodMonitor')
          .map((m) => m.spec.namespaceSelector),
      ).toEqual([{ matchNames: ['shop'] }, { matchNames: ['shop'] }]);
      const listed = renderChart({
        release: 'gh',
        set: { ...all, 'monitoring.podMonitors.namespaces[0]': 'eu', 'monitoring.podMonitors.namespaces[1]': 'us' },
      });
      expect(
        monitors(listed)
          .filter((m) => m.kind === 'PodMonitor')
          .map((m) => m.spec.namespaceSelector),
      ).toEqual([{ matchNames: ['eu', 'us'] }, { matchNames: ['eu', 'us'] }]);
    });

    it('renders the PrometheusRule with its labels, alert labels and thresholds from the values', () => {
      const objects = renderChart({
        release: 'gh',
        set: {
          'monitoring.prometheusRule.enabled': 'true',
          'monitoring.prometheusRule.labels.release': 'kps',
          'monitoring.prometheusRule.alertLabels.team': 'edge',
          'monitoring.prometheusRule.certificateExpiryDays': '14',
          'monitoring.prometheusRule.extprocErrorRatio': '0.01',
          'monitoring.prometheusRule.runbookUrl': 'https://wiki.example.com/gatehouse',
        },
      });
      const rule = monitors(objects).find((m) => m.kind === 'PrometheusRule') as Monitor & {
        spec: {
          groups: {
            rules: {
              alert: string;
              expr: string;
              labels: Record<string, string>;
              annotations: Record<string, string>;
            }[];
          }[];
        };
      };
      expect(rule.metadata!.labels).toMatchObject({ release: 'kps' });
      const alerts = rule.spec.groups.flatMap((g) => g.rules);
      expect(
        alerts.every(
          (a) =>
            a.labels.team === 'edge' && a.annotations.runbook_url!.startsWith('https://wiki.example.com/gatehouse#'),
        ),
      ).toBe(true);
      expect(alerts.find((a) => a.alert === 'GatehouseCertificateExpiringSoon')!.expr).toContain('< 14 * 86400');
      expect(alerts.find((a) => a.alert === 'GatehouseExtprocErrors')!.expr).toMatch(/> 0\.01$/);
    });
  });

  it('ships the generated CRDs in crds/, as Helm installs them', () => {
    const crds = renderChart({ release: 'gh', includeCrds: true }).filter((o) => o.kind === 'CustomResourceDefinition');
    const names = crds.map((c) => c.metadata!.name).sort();
    expect(names).toEqual([
      'apipolicies.gatehouse.dev',
      'apiproducts.gatehouse.dev',
      'apiproxies.gatehouse.dev',
      'dataplanes.gatehouse.dev',
      'debugsessions.gatehouse.dev',
      'developerapps.gatehouse.dev',
      'developers.gatehouse.dev',
      'keyvaluemaps.gatehouse.dev',
      'sharedflows.gatehouse.dev',
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
      'Secret',
      'Service',
      'Service',
      'Service',
      'ServiceAccount',
      'ValidatingWebhookConfiguration',
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
