// spec.extproc.maxConnectionAge on a real kube-apiserver (docs/operations.md#connection-age): the CRD's
// CEL rules refuse what extproc's flags refuse, naming the field, as the compiler does; the controller
// (as the restricted operator identity) renders the flags into the extproc Deployment, a change rolls
// its pod template, removing the field removes them; a DataPlane of the same name in another namespace
// changes nothing here. Its own namespaces (cage-*), as every integration file shares one apiserver.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../../lib/log.ts';
import { eventually } from '../../../../e2e/env/eventually.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../../e2e/env/kubeconfig.ts';
import { kindsByName } from '../../api/kinds.ts';
import { validateSpec } from '../../api/validate.ts';
import { KubeRest, resourcePath } from '../../kube/rest.ts';
import { StatusWriter } from '../../kube/status-writer.ts';
import { DataPlaneController } from './controller.ts';
import type { DataPlaneObject, KubeObject, RenderOptions } from './render.ts';

type Deployment = KubeObject & {
  metadata: { generation?: number };
  spec: { template: { spec: { containers: { name: string; args: string[] }[] } } };
};

const admin = new KubeRest(adminKubeConfig());
const operatorKc = operatorKubeConfig();
const operator = new KubeRest(operatorKc);
const log = createLogger('connection-age-test', process.env.GATEHOUSE_LOG_LEVEL ?? 'warn');
const suffix = randomBytes(4).toString('hex');
const ns = `cage-${suffix}`;
const otherNs = `cage-other-${suffix}`;
const renderOptions: RenderOptions = {
  envoyImage: 'envoyproxy/envoy:distroless-v1.36.2',
  gatehouseImage: 'gatehouse:test',
  xds: { host: 'gatehouse-xds', port: 18000 },
  operatorNamespace: 'gatehouse-system',
};

const dataPlanes = (namespace: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace });
const dpPath = (namespace: string, name: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace, name });
const deploymentPath = (namespace: string, name: string) =>
  resourcePath({ group: 'apps', version: 'v1', resource: 'deployments', namespace, name });

const createDataPlane = (namespace: string, name: string, spec: unknown) =>
  admin.create<DataPlaneObject>(dataPlanes(namespace), {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name, namespace },
    spec,
  });

const extprocArgs = async (namespace = ns, name = 'age') =>
  (await admin.get<Deployment>(deploymentPath(namespace, `${name}-extproc`))).spec.template.spec.containers.find(
    (c) => c.name === 'extproc',
  )!.args;

/** The value after a flag, or undefined without it. */
const flag = (args: string[], name: string) => {
  const i = args.indexOf(name);
  return i < 0 ? undefined : args[i + 1];
};

/** The apiserver's message for a refused DataPlane, or undefined when it is accepted. */
async function refusal(spec: unknown, namespace = ns): Promise<string | undefined> {
  try {
    await createDataPlane(namespace, `try-${randomBytes(3).toString('hex')}`, spec);
    return undefined;
  } catch (err) {
    const e = err as { status?: number; message?: string; body?: unknown };
    if (e.status !== 422) throw err;
    return `${e.message ?? ''} ${JSON.stringify(e.body ?? '')}`;
  }
}

let controller: DataPlaneController;

describe('spec.extproc.maxConnectionAge on a real kube-apiserver', () => {
  beforeAll(async () => {
    for (const name of [ns, otherNs])
      await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    await createDataPlane(ns, 'age', { extproc: { maxConnectionAge: '30m', maxConnectionAgeGrace: '5m' } });
    controller = new DataPlaneController({
      rest: operator,
      kc: operatorKc,
      log,
      renderOptions,
      namespace: ns,
      nodes: () => [],
      configVersion: () => 'v1',
      writer: new StatusWriter({ rest: operator, log }),
      isLeader: () => true,
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    for (const name of [ns, otherNs]) await admin.delete(`/api/v1/namespaces/${name}`).catch(() => {});
  });

  it.each([
    [{ maxConnectionAge: '500ms' }, 'spec.extproc.maxConnectionAge', /between 1s and 24h/],
    [{ maxConnectionAge: '25h' }, 'spec.extproc.maxConnectionAge', /between 1s and 24h/],
    [{ maxConnectionAge: '-30m' }, 'spec.extproc.maxConnectionAge', /should match|must match/],
    [{ maxConnectionAgeGrace: '10s' }, 'spec.extproc.maxConnectionAgeGrace', /needs maxConnectionAge/],
    [
      { maxConnectionAge: '0s', maxConnectionAgeGrace: '10s' },
      'spec.extproc.maxConnectionAgeGrace',
      /needs maxConnectionAge/,
    ],
    [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '25h' }, 'spec.extproc.maxConnectionAgeGrace', /at most 24h/],
  ])('refuses extproc %j, naming %s', async (extproc, field, message) => {
    const text = await refusal({ extproc });
    expect(text).toBeDefined();
    expect(text).toContain(field);
    expect(text).toMatch(message);
    // The compiler says the same of it.
    expect(validateSpec(kindsByName.get('DataPlane')!, { extproc }).errors.map((e) => e.field)).toContain(field);
  });

  it.each([
    [{ maxConnectionAge: '99999999999999999999h' }],
    [{ maxConnectionAge: '30m', maxConnectionAgeGrace: '99999999999999999999h' }],
  ])('refuses a duration past any clock (%j), as the compiler does', async (extproc) => {
    // Beyond Go's duration range CEL's duration() itself fails ("type conversion error ... evaluating
    // rule: <its message>"): still refused, on spec.extproc with the rule's message naming the field.
    const text = await refusal({ extproc });
    expect(text).toContain('spec.extproc');
    expect(text).toMatch(/maxConnectionAge/);
    expect(validateSpec(kindsByName.get('DataPlane')!, { extproc }).errors).not.toEqual([]);
  });

  it.each([
    [{ maxConnectionAge: '1s' }],
    [{ maxConnectionAge: '24h', maxConnectionAgeGrace: '24h' }],
    [{ maxConnectionAge: '0s' }],
    [{ maxConnectionAge: '0.5m', maxConnectionAgeGrace: '1s1s' }],
  ])('accepts extproc %j', async (extproc) => {
    expect(await refusal({ extproc })).toBeUndefined();
    expect(validateSpec(kindsByName.get('DataPlane')!, { extproc }).errors).toEqual([]);
  });

  it('renders the flags into the extproc Deployment', async () => {
    const args = await eventually('the extproc Deployment', () => extprocArgs());
    expect(flag(args, '--max-connection-age')).toBe('30m');
    expect(flag(args, '--max-connection-age-grace')).toBe('5m');
  });

  it("a DataPlane of the same name in another namespace changes nothing in this one's Deployment", async () => {
    await createDataPlane(otherNs, 'age', { extproc: { maxConnectionAge: '1s', maxConnectionAgeGrace: '1s' } });
    const before = await admin.get<Deployment>(deploymentPath(ns, 'age-extproc'));
    // A reconcile of ours after theirs exists: still our values, the same object.
    // (Retried: the controller's own reconcile may write the status at the same moment, a 409.)
    await eventually('a reconcile of ours', async () => {
      await controller.reconcile(`${ns}/age`);
      return true;
    });
    const after = await admin.get<Deployment>(deploymentPath(ns, 'age-extproc'));
    expect(after.metadata.resourceVersion).toBe(before.metadata.resourceVersion);
    expect(flag(await extprocArgs(), '--max-connection-age')).toBe('30m');
    // This controller watches one namespace: nothing rendered for theirs.
    await expect(admin.get(deploymentPath(otherNs, 'age-extproc'))).rejects.toMatchObject({ status: 404 });
  });

  it('rolls the pod template when the age changes, and drops the flags when the fields go', async () => {
    const generation = (await admin.get<Deployment>(deploymentPath(ns, 'age-extproc'))).metadata.generation!;
    await admin.mergePatch(dpPath(ns, 'age'), { spec: { extproc: { maxConnectionAge: '45m' } } });
    await eventually('age 45m', async () => flag(await extprocArgs(), '--max-connection-age') === '45m');
    const changed = await admin.get<Deployment>(deploymentPath(ns, 'age-extproc'));
    // A new generation of the pod template: the Deployment controller rolls the pods.
    expect(changed.metadata.generation).toBeGreaterThan(generation);
    expect(flag(changed.spec.template.spec.containers[0]!.args, '--max-connection-age-grace')).toBe('5m');

    await admin.mergePatch(dpPath(ns, 'age'), {
      spec: { extproc: { maxConnectionAge: null, maxConnectionAgeGrace: null } },
    });
    const args = await eventually('flags gone', async () => {
      const a = await extprocArgs();
      return a.includes('--max-connection-age') ? undefined : a;
    });
    expect(args.some((a) => a.startsWith('--max-connection-age'))).toBe(false);
  });
});
