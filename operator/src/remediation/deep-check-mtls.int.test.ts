// The deep check under mutual TLS, against a real kube-apiserver as the restricted operator identity.
// Certificates as the certificates controller issues them (leaves.ts specs, signed by an operator CA):
// the operator's gatehouse-xds-tls (serverAuth and clientAuth), loaded through the same IssuedXdsTls
// the operator uses, and the DataPlane's extproc leaf. Real extproc servers on loopback require client
// certificates from the operator CA: the one on 127.0.0.1 presents the DataPlane's leaf (the pod IP is
// in no certificate; the check verifies the Service name), the one on 127.0.0.2 a certificate from
// another CA with the same names, which the operator must refuse.
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../../lib/log.ts';
import { validateMaterial } from '../../../lib/tls/material.ts';
import type { ServerTls } from '../../../lib/tls/flags.ts';
import { defaultTlsPolicy } from '../../../lib/tls/policy.ts';
import { eventually as waitFor } from '../../../e2e/env/eventually.ts';
import { adminKubeConfig, operatorKubeConfig } from '../../../e2e/env/kubeconfig.ts';
import { SnapshotStore } from '../../../extproc/src/config/snapshot-store.ts';
import { testCatalog, testSnapshot } from '../../../extproc/src/server/fixtures.test-support.ts';
import { createExtprocServer, type ExtprocServer } from '../../../extproc/src/server/server.ts';
import { buildSnapshot } from '../../../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../../../extproc/src/stores/memory.ts';
import { extprocLeaf, xdsLeaf, type LeafSpec } from '../certs/leaves.ts';
import { createCa, issueCertificate, loadSigner, type PemPair, type Signer } from '../certs/pki.ts';
import { IssuedXdsTls } from '../certs/xds-material.ts';
import { EventRecorder } from '../kube/events.ts';
import { KubeRest, resourcePath } from '../kube/rest.ts';
import { StatusWriter } from '../kube/status-writer.ts';
import { RemediationController } from './controller.ts';
import { mutualTlsDeepCheck } from './deep-check.ts';
import { componentLabels } from '../api/names.ts';

/** The fields of the pods and the DataPlane this test reads. */
type Live = {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec?: unknown;
  status?: { remediations?: { pod: string; reason: string; action: string }[] };
};

const admin = new KubeRest(adminKubeConfig());
const operatorKc = operatorKubeConfig();
const operator = new KubeRest(operatorKc);
const log = createLogger('deep-check-mtls-test', process.env.GATEHOUSE_LOG_LEVEL ?? 'error');
const suffix = randomBytes(4).toString('hex');
const ns = `rem-mtls-${suffix}`;
const opns = `gatehouse-${suffix}`;
const node = `mtls-${suffix}`;
const dataPlane = 'secure';

const podPath = (name?: string, subresource?: string) =>
  resourcePath({ version: 'v1', resource: 'pods', namespace: ns, name, subresource });
const dpPath = (name?: string) =>
  resourcePath({ group: 'gatehouse.dev', version: 'v1alpha1', resource: 'dataplanes', namespace: ns, name });
const iso = (msAgo = 0) => new Date(Date.now() - msAgo).toISOString().replace(/\.\d{3}Z$/, 'Z');
const getPod = (name: string) => admin.get<Live>(podPath(name));
const remediations = async () => (await admin.get<Live>(dpPath(dataPlane))).status?.remediations ?? [];

/** A Ready extproc pod of the DataPlane at `podIP`, with the status a kubelet would write. */
async function createPod(name: string, podIP: string): Promise<void> {
  await admin.create(podPath(), {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: ns, labels: componentLabels(dataPlane, 'extproc') },
    spec: { nodeName: node, containers: [{ name: 'extproc', image: 'gatehouse:test' }] },
  });
  await admin.mergePatch(podPath(name, 'status'), {
    status: {
      phase: 'Running',
      startTime: iso(3_600_000),
      hostIP: '10.0.0.1',
      podIP,
      podIPs: [{ ip: podIP }],
      conditions: [
        { type: 'PodScheduled', status: 'True', lastTransitionTime: iso(3_600_000) },
        { type: 'Ready', status: 'True', lastTransitionTime: iso(3_600_000) },
      ],
      containerStatuses: [
        {
          name: 'extproc',
          image: 'gatehouse:test',
          imageID: '',
          ready: true,
          restartCount: 0,
          started: true,
          state: { running: { startedAt: iso() } },
        },
      ],
    },
  });
}

function sign(signer: Signer, spec: LeafSpec): Promise<PemPair> {
  const now = Date.now();
  return issueCertificate(signer, {
    commonName: spec.commonName,
    dns: spec.dns,
    ips: spec.ips,
    uris: spec.uris,
    usages: spec.usages,
    notBefore: new Date(now - 5 * 60_000),
    notAfter: new Date(now + 3_600_000),
  });
}

/** extproc's TLS as its main.ts builds it from the mounted Secrets: its leaf, client certificates required from the bundle. */
function extprocTls(leaf: PemPair, bundlePem: string): ServerTls {
  const material = validateMaterial({
    cert: Buffer.from(leaf.certPem),
    key: Buffer.from(leaf.keyPem),
    ca: Buffer.from(bundlePem),
  });
  return {
    watcher: { current: () => material, onChange: () => () => undefined, close: () => undefined },
    policy: defaultTlsPolicy,
    clientAuth: 'required',
  };
}

let good: ExtprocServer;
let rogue: ExtprocServer;
let issued: IssuedXdsTls;
let controller: RemediationController;
let events: EventRecorder;
const registry = new Registry();
/** Deep checks that passed: only the good pod can pass one. */
const passed = async () =>
  (await registry.getSingleMetric('gatehouse_remediation_deep_checks_total')!.get()).values.find(
    (v) => v.labels.result === 'ok',
  )?.value ?? 0;

describe('deep check under mutual TLS', () => {
  beforeAll(async () => {
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    await admin.create('/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: node } });
    await admin.mergePatch(resourcePath({ version: 'v1', resource: 'nodes', name: node, subresource: 'status' }), {
      status: {
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'KubeletReady',
            message: 'written by the test',
            lastHeartbeatTime: iso(),
            lastTransitionTime: iso(3_600_000),
          },
        ],
      },
    });

    const now = Date.now();
    const caPem = await createCa({
      commonName: `Gatehouse CA ${opns}`,
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    });
    const ca = loadSigner(caPem.certPem, caPem.keyPem);
    const otherCaPem = await createCa({
      commonName: 'Some Other CA',
      notBefore: new Date(now - 60_000),
      notAfter: new Date(now + 86_400_000),
    });
    const otherCa = loadSigner(otherCaPem.certPem, otherCaPem.keyPem);

    // The operator's certificate as issued into gatehouse-xds-tls, read through the operator's own adapter.
    const xds = await sign(ca, xdsLeaf(opns, 'gatehouse-xds'));
    issued = new IssuedXdsTls(log);
    issued.attach({
      xdsTls: () => ({ certPem: xds.certPem, keyPem: xds.keyPem, caPem: caPem.certPem }),
      onXdsTlsChange: () => () => undefined,
    });

    // Both servers trust the operator CA (the DataPlane's ca-bundle); only the good one holds the DataPlane's leaf.
    const spec = extprocLeaf(ns, dataPlane);
    const snapshots = new SnapshotStore();
    snapshots.apply(buildSnapshot(testSnapshot(), testCatalog));
    good = createExtprocServer({
      snapshots,
      stores: createMemoryStores(),
      log: pino({ level: 'silent' }),
      tls: extprocTls(await sign(ca, spec), caPem.certPem),
    });
    const port = await good.listen('127.0.0.1', 0);
    rogue = createExtprocServer({
      snapshots,
      stores: createMemoryStores(),
      log: pino({ level: 'silent' }),
      tls: extprocTls(await sign(otherCa, spec), caPem.certPem),
    });
    await rogue.listen('127.0.0.2', port);

    events = new EventRecorder({
      rest: operator,
      controller: 'gatehouse.dev/operator',
      instance: 'deep-check-mtls-test',
      log,
    });
    controller = new RemediationController({
      rest: operator,
      kc: operatorKc,
      log,
      namespace: ns,
      isLeader: () => true,
      registry,
      writer: new StatusWriter({ rest: operator, log, events }),
      events,
      remediation: { deepCheckFailures: 2 },
      deepCheck: { ...mutualTlsDeepCheck(issued), port, intervalMs: 300, timeoutMs: 1500 },
    });
    await controller.start();
  });

  afterAll(async () => {
    await controller?.stop();
    await events?.flush();
    issued?.close();
    await good?.shutdown(100);
    await rogue?.shutdown(100);
    await admin.delete(resourcePath({ version: 'v1', resource: 'nodes', name: node })).catch(() => {});
    await admin.delete(`/api/v1/namespaces/${ns}`).catch(() => {});
  });

  it('keeps the pod whose extproc verifies as its DataPlane, and evicts the one presenting a certificate from another CA', async () => {
    await admin.create(dpPath(), {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'DataPlane',
      metadata: { name: dataPlane, namespace: ns },
      spec: { remediation: { enabled: true, maxEvictionsPerHour: 5, minAvailable: 1 } },
    });
    await createPod('secure-extproc-good', '127.0.0.1');
    await createPod('secure-extproc-rogue', '127.0.0.2');

    const [entry] = await waitFor('the eviction', async () => {
      const r = await remediations();
      return r.length > 0 ? r : undefined;
    });
    expect(entry).toMatchObject({ pod: 'secure-extproc-rogue', action: 'Evict' });
    expect(entry!.reason).toMatch(
      /^DeepCheckFailed: Ready to the kubelet, but failed 2 or more deep checks in a row \(last: health: UNAVAILABLE: .*certificate signed by unknown authority: issuer CN=Some Other CA/,
    );
    expect((await getPod('secure-extproc-rogue')).metadata.deletionTimestamp).toBeDefined();
    // The pod that passes over mutual TLS passes round after round, and is still there.
    const before = await passed();
    expect(before).toBeGreaterThan(0);
    await waitFor('two more passed deep checks', async () => ((await passed()) >= before + 2 ? true : undefined));
    expect((await getPod('secure-extproc-good')).metadata.deletionTimestamp).toBeUndefined();
    expect(await remediations()).toHaveLength(1);
  });
});
