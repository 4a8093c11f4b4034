// Status converges and goes quiet (docs/architecture.md#the-operator): three controllers (DataPlane,
// certificates, remediation) write parts of one DataPlane's status. Each owns its condition types and
// leaves the others where they are, so a write by one does not make another's status look changed.
// A DataPlane is taken through create, certificate issue and an eviction, and its status writes are
// counted per phase twice: by the operator (its onStatusWrite hook) and by the apiserver (its audit
// log, every PATCH of dataplanes/status, refused ones included). Then 60 quiet seconds: none at all.
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { silentLog } from '../../operator/src/xds/control-plane.test-support.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import type { StatusTarget } from '../../operator/src/kube/status-writer.ts';
import { readAudit, type AuditRecord } from '../env/audit.ts';
import { OPERATOR_TEST_USER } from '../env/controlplane.ts';
import { ENV } from '../env/env.ts';
import { ackingNode, Cluster, conditionOf, eventually, operatorKubeConfig } from './kube.ts';
import { createReadyNode, createRunningPod } from './pods.ts';

describe('DataPlane status with three writers', () => {
  const cluster = new Cluster();
  const auditLog = process.env[ENV.auditLog];
  let ns = '';
  let nodeName = '';
  let operator: KubeOperator;
  /** Every status write of the operator: when it returned (Date.now()) and what it wrote to. */
  const writes: { at: number; key: string }[] = [];
  let node: { close(): void } | undefined;

  beforeAll(async () => {
    ns = await cluster.operatorNamespace('quiet');
    nodeName = `quiet-${ns}`;
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: ns,
      watchNamespace: ns,
      identity: 'quiet-0',
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
      nodeReports: { heartbeatMs: 500, debounceMs: 50, staleAfterMs: 3_000 },
      onStatusWrite: (t: StatusTarget) => writes.push({ at: Date.now(), key: `${t.kind}/${t.metadata.name}` }),
      dataPlane: {
        xds: { host: 'gatehouse-xds', port: 18000 },
        envoyImage: 'envoyproxy/envoy:test',
        gatehouseImage: 'gatehouse:test',
      },
    });
    await eventually('leads', () => operator.isLeader());
  });

  afterAll(async () => {
    node?.close();
    await operator?.stop();
    if (nodeName) await cluster.rest.delete(`/api/v1/nodes/${nodeName}`).catch(() => {});
  });

  /** The operator's status writes of DataPlane/edge in [from, to). */
  const edgeWrites = (from = 0, to = Infinity) =>
    writes.filter((w) => w.key === 'DataPlane/edge' && w.at >= from && w.at < to);
  /** The apiserver's record of every status PATCH of DataPlane/edge received in [from, to) (any response code). */
  const auditedPatches = (from: number, to = Infinity): AuditRecord[] =>
    auditLog
      ? readAudit(auditLog, { username: OPERATOR_TEST_USER, since: new Date(from) }).filter(
          (r) =>
            r.verb === 'patch' &&
            r.apiGroup === 'gatehouse.dev' &&
            r.resource === 'dataplanes' &&
            r.subresource === 'status' &&
            r.namespace === ns &&
            r.name === 'edge' &&
            Date.parse(r.time) < to,
        )
      : [];
  /**
   * Waits until DataPlane/edge's status has had no write for `quietMs`, counted from the call at the
   * earliest: a write whose result the test has already read may not have returned to the operator
   * yet (its hook not called), so the last write the hook knows of is not enough; the audit log's
   * last PATCH (the apiserver logs it as it answers) covers that one. Returns when the wait ended.
   */
  const settled = async (what: string, quietMs = 5_000) => {
    const calledAt = Date.now();
    const quietSince = (times: number[]) => Date.now() - Math.max(calledAt, ...times) > quietMs;
    await eventually(
      `${what}: no DataPlane status write for ${quietMs} ms`,
      // The audit log (shared by every test file, so it can be long) is read only once the hook says quiet.
      () =>
        quietSince(edgeWrites().map((w) => w.at)) &&
        quietSince(auditedPatches(calledAt - quietMs).map((r) => Date.parse(r.time))),
      60_000,
      250,
    );
    return Date.now();
  };

  it('writes a few times per change (create, certificate issue, eviction), then not at all for 60 s', async () => {
    const t0 = Date.now();
    node = ackingNode(`127.0.0.1:${operator.xdsPort}`, 'extproc-0', `${ns}/edge/extproc`);
    await cluster.apply({
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: 'edge', namespace: ns },
      spec: {
        listeners: [{ name: 'public', port: 8443, protocol: 'HTTPS', tls: { issue: true } }],
        remediation: { enabled: true, notReadyFor: '2s', maxEvictionsPerHour: 5, minAvailable: 0 },
      },
    });

    // Phase 1, create: until each controller has written its conditions.
    await eventually(
      'all three controllers wrote their conditions',
      async () => {
        const dp = await cluster.get('DataPlane', ns, 'edge');
        return ['ConfigSynced', 'CertificatesReady', 'CapacityOK', 'PodsHealthy'].every((t) => conditionOf(dp, t));
      },
      60_000,
    );
    const t1 = Date.now();

    // Phase 2, certificate issue: CertificatesReady True, then quiet. Without convergence the controllers
    // keep waking each other and the quiet never comes (the wait fails the test).
    await eventually(
      'certificates issued',
      async () => conditionOf(await cluster.get('DataPlane', ns, 'edge'), 'CertificatesReady')?.status === 'True',
      60_000,
    );
    const t2 = await settled('after certificate issue');

    // Phase 3, an eviction: a Ready node and two extproc pods of the DataPlane, one Running but not
    // Ready; after notReadyFor (2 s) the remediation controller evicts it and records that in status.
    await createReadyNode(cluster.rest, nodeName);
    for (const [name, ready] of [
      ['edge-extproc-good', true],
      ['edge-extproc-zombie', false],
    ] as const)
      await createRunningPod(cluster.rest, {
        namespace: ns,
        name,
        dataPlane: 'edge',
        component: 'extproc',
        node: nodeName,
        ready,
      });
    await eventually(
      'the zombie evicted',
      async () => {
        const pod = await cluster.rest.get<{ metadata: { deletionTimestamp?: string } }>(
          `/api/v1/namespaces/${ns}/pods/edge-extproc-zombie`,
        );
        return pod.metadata.deletionTimestamp !== undefined;
      },
      60_000,
    );
    await eventually(
      'the remediation recorded in status',
      async () => {
        const dp = await cluster.get('DataPlane', ns, 'edge');
        const entries = (dp?.status?.remediations ?? []) as { pod: string; action: string }[];
        return entries.some((e) => e.pod === 'edge-extproc-zombie' && e.action === 'Evict');
      },
      60_000,
    );
    const t3 = await settled('after the eviction');

    // Phase 4, steady state: a fixed 60 s window, as the issue asks (issue 14: "60 quiet seconds"), from
    // once the eviction has settled. Waiting the window out is the measurement itself, not a guess at
    // how long something takes: zero writes is the expectation, whatever the machine's load.
    // It ends early at the first write, which fails the assertions below.
    while (Date.now() - t3 < 60_000 && edgeWrites(t3).length === 0) await sleep(200);
    const t4 = Date.now();

    const perPhase = {
      create: edgeWrites(t0, t1).length,
      certificates: edgeWrites(t1, t2).length,
      eviction: edgeWrites(t2, t3).length,
      quiet60s: edgeWrites(t3, t4).length,
    };
    const audited = auditedPatches(t0, t4);
    const ok = audited.filter((r) => r.code >= 200 && r.code < 300);
    // Every attempt the apiserver saw per phase (by when it received them), refused (409) ones included.
    const attempts = (from: number, to: number) => {
      const inPhase = auditedPatches(from, to);
      return `${inPhase.length} (${inPhase.filter((r) => r.code === 409).length} 409)`;
    };
    console.log(
      `DataPlane/edge status writes per phase (operator hook): ${JSON.stringify(perPhase)}; ` +
        (auditLog
          ? `audit log PATCHes of dataplanes/status: create ${attempts(t0, t1)}, certificates ${attempts(t1, t2)}, ` +
            `eviction ${attempts(t2, t3)}, quiet60s ${attempts(t3, t4)}; ${ok.length} of ${audited.length} succeeded`
          : 'no audit log (a KUBECONFIG cluster)'),
    );

    // Create, as observed (4 or 5 writes): the remediation controller (CapacityOK, PodsHealthy), the
    // DataPlane controller (Accepted, ResolvedRefs, Programmed, Ready, Stalled, observedGeneration,
    // lastAccepted), the certificates controller (CertificatesReady, certificates), the DataPlane
    // controller again once the node has ACKed (ConfigSynced, configVersion, components): one or two
    // each, with slack for a CertificatesReady Issuing before Valid and a node that ACKs in two steps.
    expect(perPhase.create).toBeLessThanOrEqual(8);
    // Certificate issue: the certificates controller's CertificatesReady True, and the DataPlane
    // controller's once the new listener snapshot is ACKed. Often none here: issuing can finish before
    // the last controller has written its first conditions, and then it counts under create.
    expect(perPhase.certificates).toBeLessThanOrEqual(4);
    // Eviction, as observed (2, sometimes 3): only the remediation controller owns what changes, and
    // pods are not the other controllers' business. Its writes: the eviction recorded (the
    // status.remediations entry, PodsHealthy False naming the zombie and what was done), PodsHealthy
    // True once the pod is terminating, and slack for a reconcile in between whose cache has not seen
    // the deletion yet (the zombie's disposition worded anew).
    expect(perPhase.eviction).toBeGreaterThanOrEqual(1);
    expect(perPhase.eviction).toBeLessThanOrEqual(4);
    // Steady state: nothing.
    expect(perPhase.quiet60s).toBe(0);
    if (auditLog) {
      // The apiserver saw the same: each successful write the operator counted, no refused write in
      // the quiet window either (the hook counts only successes; the audit log counts every attempt).
      expect(ok.length).toBe(edgeWrites(t0, t4).length);
      expect(auditedPatches(t3, t4)).toEqual([]);
      // Refused attempts: a controller whose cache is behind another's write gets a 409 (the patch is
      // conditional on resourceVersion) and retries once its cache has caught up; a few per change,
      // never a storm (the old behaviour made about 74 a second, a third of them 409s).
      expect(audited.length).toBeLessThanOrEqual(2 * ok.length + 4);
    }
  }, 300_000);
});
