// SharedFlows and flow hooks against a real kube-apiserver (docs/policies.md#flowcallout,
// docs/tenancy.md#flow-hooks): a platform DataPlane's hook runs on every proxy it serves and on no other
// DataPlane's; editing a SharedFlow two proxies call changes both; a tenant's SharedFlow of the hook's
// name never runs as the platform's hook, and a tenant DataPlane naming the platform's flow gets its
// own namespace's (missing), so it fails closed. Observed by running extproc's flow engine on the view
// each DataPlane is served.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeRuntimeSnapshot } from '../../extproc/src/config/decode.ts';
import { loadSnapshot } from '../../extproc/src/config/snapshot.ts';
import { FlowRun } from '../../extproc/src/flow/engine.ts';
import { makePolicyContext } from '../../extproc/src/flow/policy-context.test-support.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { Cluster, conditionOf, eventually, hasConditions, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const obj = (kind: string, namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind,
  metadata: { name, namespace },
  spec,
});
const tag = randomBytes(3).toString('hex');
const edgeHost = `edge-${tag}.example.test`;
// The edge DataPlane admits routes from every namespace, and other test files' proxies share this
// cluster: a base path of this run's own keeps theirs (a catch-all /orders) from taking the route.
const basePathOf = (name: string) => `/${name}-${tag}`;
const labHost = `lab-${tag}.example.test`;
const setHeader = (name: string, value: string) => ({
  type: 'AssignMessage',
  assignMessage: { set: { headers: { [name]: value } } },
});

interface Outcome {
  headers: Record<string, string | undefined>;
  errorCode?: string;
}

describe('SharedFlows and flow hooks in a cluster', () => {
  const cluster = new Cluster();
  let operator: KubeOperator;
  let platform = '';
  let teamA = '';
  let teamB = '';

  /** Runs the request flow of `route` as the extproc of `dataPlane` would, on the view it is served now. */
  async function run(dataPlane: string, route: string): Promise<Outcome | undefined> {
    const view = operator.snapshots.current()?.snapshot.dataPlanes.find((d) => d.dataPlane === dataPlane);
    if (!view) return undefined;
    const compiled = loadSnapshot(decodeRuntimeSnapshot(view.runtime)).routes.get(route);
    if (!compiled) return undefined;
    const [namespace, name] = route.split('/') as [string, string];
    const basePath = basePathOf(name);
    const ctx = makePolicyContext({ proxy: { namespace, name, route, basePath }, path: `${basePath}/1` });
    const outcome = await new FlowRun(compiled, ctx.exchange).runRequest();
    return {
      headers: {
        hook: ctx.exchange.request.headers.get('x-hook'),
        common: ctx.exchange.request.headers.get('x-common'),
      },
      ...(outcome.action === 'respond' ? { errorCode: outcome.errorCode } : {}),
    };
  }

  beforeAll(async () => {
    platform = await cluster.operatorNamespace('sf-platform');
    teamA = await cluster.namespace('sf-team-a');
    teamB = await cluster.namespace('sf-team-b');
    // Every namespace: the tenants' objects are in theirs, the platform's DataPlane in its own.
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: platform,
      identity: `sf-${tag}`,
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    await eventually('the operator leads', () => operator.isLeader());
  });

  afterAll(async () => {
    await operator?.stop();
  });

  it('a hook runs on every proxy of its DataPlane and no other; an edited SharedFlow changes both its callers', async () => {
    await cluster.apply(obj('ApiPolicy', platform, 'mark', setHeader('x-hook', 'platform')));
    await cluster.apply(obj('SharedFlow', platform, 'guard', { steps: [{ policy: 'mark' }] }));
    await cluster.apply(
      obj('DataPlane', platform, 'edge', {
        listeners: [
          { name: 'http', port: 8080, hostnames: [edgeHost], allowedRoutes: { namespaces: { from: 'All' } } },
        ],
        flowHooks: { preProxy: { name: 'guard' } },
      }),
    );
    await cluster.apply(
      obj('DataPlane', teamB, 'lab', { listeners: [{ name: 'http', port: 8080, hostnames: [labHost] }] }),
    );
    await cluster.apply(obj('ApiPolicy', teamA, 'tag-common', setHeader('x-common', 'v1')));
    await cluster.apply(obj('SharedFlow', teamA, 'common', { steps: [{ policy: 'tag-common' }] }));
    await cluster.apply(
      obj('ApiPolicy', teamA, 'call-common', { type: 'FlowCallout', flowCallout: { sharedFlowBundle: 'common' } }),
    );
    for (const name of ['orders', 'cards'])
      await cluster.apply(
        obj('ApiProxy', teamA, name, {
          basePath: basePathOf(name),
          hosts: [edgeHost],
          target: { url: 'http://127.0.0.1:9090' },
          flows: { preFlow: { request: [{ policy: 'call-common' }] } },
        }),
      );
    await cluster.apply(
      obj('ApiProxy', teamB, 'labs', {
        basePath: basePathOf('labs'),
        hosts: [labHost],
        target: { url: 'http://127.0.0.1:9090' },
      }),
    );

    const edge = `${platform}/edge`;
    const lab = `${teamB}/lab`;
    for (const name of ['orders', 'cards'])
      await eventually(`${name}: the hook and the shared flow ran`, async () => {
        const out = await run(edge, `${teamA}/${name}`);
        return out?.headers.hook === 'platform' && out.headers.common === 'v1';
      });
    const labs = await eventually('the other DataPlane serves its proxy', () => run(lab, `${teamB}/labs`));
    expect(labs).toEqual({ headers: { hook: undefined, common: undefined } });
    const labView = operator.snapshots.current()!.snapshot.dataPlanes.find((d) => d.dataPlane === lab)!;
    expect(labView.runtime.sharedFlows ?? []).toEqual([]);
    expect(labView.runtime.dataPlanes?.[0]?.flowHooks).toBeUndefined();
    for (const [kind, ns, name] of [
      ['SharedFlow', platform, 'guard'],
      ['SharedFlow', teamA, 'common'],
    ] as const)
      await eventually(`${kind} ${name} Programmed`, async () =>
        hasConditions(await cluster.get(kind, ns, name), { Accepted: 'True', Programmed: 'True' }),
      );

    await cluster.apply(obj('ApiPolicy', teamA, 'tag-common', setHeader('x-common', 'v2')));
    for (const name of ['orders', 'cards'])
      await eventually(`${name} runs the edited shared flow`, async () => {
        const out = await run(edge, `${teamA}/${name}`);
        return out?.headers.common === 'v2' && out.headers.hook === 'platform';
      });
    await cluster.apply(obj('SharedFlow', teamA, 'common', { steps: [] }));
    for (const name of ['orders', 'cards'])
      await eventually(`${name} runs the shared flow without its step`, async () => {
        const out = await run(edge, `${teamA}/${name}`);
        return out !== undefined && out.headers.common === undefined && out.headers.hook === 'platform';
      });
  });

  it("a tenant cannot attach a hook: its flow of the hook's name never runs as the platform's, and its own DataPlane finds only its namespace's", async () => {
    // A tenant's SharedFlow named like the platform's hook: the platform's DataPlane still runs its own.
    await cluster.apply(obj('ApiPolicy', teamA, 'evil', setHeader('x-hook', 'tenant')));
    await cluster.apply(obj('SharedFlow', teamA, 'guard', { steps: [{ policy: 'evil' }] }));
    await eventually('the tenant flow is accepted', async () =>
      hasConditions(await cluster.get('SharedFlow', teamA, 'guard'), { Accepted: 'True' }),
    );
    const out = await run(`${platform}/edge`, `${teamA}/orders`);
    expect(out?.headers.hook).toBe('platform');
    const edgeView = operator.snapshots.current()!.snapshot.dataPlanes.find((d) => d.dataPlane === `${platform}/edge`)!;
    expect((edgeView.runtime.sharedFlows ?? []).map((f) => `${f.namespace}/${f.name}`)).not.toContain(`${teamA}/guard`);

    // A tenant DataPlane naming the platform's hook gets its own namespace's flow, which is missing:
    // ResolvedRefs=False, and its proxies fail closed rather than run unhooked or run the platform's.
    await cluster.apply(
      obj('DataPlane', teamB, 'lab', {
        listeners: [{ name: 'http', port: 8080, hostnames: [labHost] }],
        flowHooks: { preProxy: { name: 'guard' } },
      }),
    );
    const refused = await eventually('the tenant DataPlane reports the missing flow', async () => {
      const dp = await cluster.get('DataPlane', teamB, 'lab');
      return conditionOf(dp, 'ResolvedRefs')?.status === 'False' && dp;
    });
    expect(conditionOf(refused, 'ResolvedRefs')?.message).toMatch(
      new RegExp(`spec\\.flowHooks\\.preProxy\\.name: SharedFlow "guard" not found in namespace ${teamB}`),
    );
    await eventually('the tenant proxy fails closed', async () => {
      const labs = await run(`${teamB}/lab`, `${teamB}/labs`);
      return labs?.errorCode === 'flow.SharedFlowNotFound' && labs.headers.hook === undefined;
    });
  });
});
