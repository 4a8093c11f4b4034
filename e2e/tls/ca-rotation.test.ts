// CA rotation under load by trust-bundle overlap (docs/architecture.md#the-operator): every bundle gets the new CA, then every
// leaf is re-signed by it, then the old CA leaves the bundles. Across the operator's xDS server
// (mutual TLS; devproxy and extproc as long-lived clients, plus a fresh client handshake after
// another) and devproxy's downstream listener (its certificate and client-certificate CA from SDS,
// clients with certificates making a new connection per request), no handshake and no request fails
// and the long-lived streams stay up. Afterwards a certificate from the retired CA is refused.
import { readFileSync } from 'node:fs';
import type * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import {
  createAdsClient,
  runtimeTypeUrl,
  type DiscoveryRequest,
  type DiscoveryResponse,
} from '../../extproc/src/config/ads-client.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { XdsSnapshotSource } from '../../extproc/src/config/xds-source.ts';
import { compileWithSecrets, driveLoad, httpsGet, tlsSecretYaml, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { bundle, createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';
import { dataPlaneYaml, startTlsStack, type TlsStack } from './stack.ts';

let oldCa: TestCa;
let newCa: TestCa;
const leaves: Record<'xds' | 'devproxy' | 'extproc' | 'client' | 'listener', { old: TestLeaf; new: TestLeaf }> =
  {} as never;
const volumes = {
  xds: new SecretVolume(),
  devproxy: new SecretVolume(),
  extproc: new SecretVolume(),
  client: new SecretVolume(),
};
const log = captureLog('info');
const extprocLog = captureLog('info');
let stack: TlsStack;
let xdsTls: ReturnType<typeof startServerTls>;
let devproxyTls: ReturnType<typeof startClientTls>;
let extprocTls: ReturnType<typeof startClientTls>;
let subscription: XdsSnapshotSource;
let listenerPort: number;

const names = {
  xds: ['gatehouse-xds'],
  devproxy: ['gw-envoy'],
  extproc: ['gw-extproc'],
  client: ['api-client'],
  listener: ['gw.edge.svc'],
};

function writeVolumes(which: 'old' | 'new', trust: string): void {
  for (const key of ['xds', 'devproxy', 'extproc', 'client'] as const) {
    const leaf = leaves[key][which];
    volumes[key].write({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, 'ca.crt': trust });
  }
}

function manifests(which: 'old' | 'new', trust: string): string {
  const leaf = leaves.listener[which];
  return `${dataPlaneYaml(['{name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}, clientCertificate: Required}}'], stack.echoPort)}---
${tlsSecretYaml('edge', 'gw-tls', { cert: leaf.cert, key: leaf.key, ca: trust })}`;
}

beforeAll(async () => {
  [oldCa, newCa] = await Promise.all([createCa('Gatehouse CA 2025'), createCa('Gatehouse CA 2026')]);
  for (const [key, dns] of Object.entries(names) as Array<[keyof typeof names, string[]]>) {
    leaves[key] = {
      old: await issueLeaf(oldCa, dns[0]!, { dns, ip: ['127.0.0.1'] }),
      new: await issueLeaf(newCa, dns[0]!, { dns, ip: ['127.0.0.1'] }),
    };
  }
  writeVolumes('old', bundle(oldCa));
  const files = (v: SecretVolume) => ({ certFile: v.path('tls.crt'), keyFile: v.path('tls.key') });
  xdsTls = startServerTls(
    { ...files(volumes.xds), clientCaFile: volumes.xds.path('ca.crt'), policy: tlsPolicy({}) },
    log.log,
    'xDS server',
  );
  devproxyTls = startClientTls(
    { ...files(volumes.devproxy), caFile: volumes.devproxy.path('ca.crt') },
    log.log,
    'devproxy xDS client',
  );
  extprocTls = startClientTls(
    { ...files(volumes.extproc), caFile: volumes.extproc.path('ca.crt') },
    extprocLog.log,
    'extproc xDS client',
  );
  stack = await startTlsStack({
    log: log.log,
    xdsTls,
    devproxyXdsCredentials: grpcChannelCredentials(devproxyTls.options),
  });
  const { snapshot, secrets } = compileWithSecrets(
    manifests('old', bundle(oldCa)),
    Number(stack.extproc.address.split(':')[1]),
  );
  await stack.publish(snapshot, secrets);
  listenerPort = stack.port('edge/gw/https');
  subscription = new XdsSnapshotSource({
    address: stack.xdsAddress,
    log: extprocLog.log,
    nodeId: 'extproc-long-lived',
    credentials: grpcChannelCredentials(extprocTls.options),
  });
  // start() stops waiting after its initial timeout; the stream must be up before the rotation.
  await subscription.start(new SnapshotStore());
  await until(() => {
    const state = subscription.state();
    return state.origin === 'control-plane' && state.connected;
  }, 'the long-lived extproc subscription');
}, 120_000);

afterAll(async () => {
  await subscription?.stop();
  await stack?.close();
  for (const w of [xdsTls?.watcher, devproxyTls?.watcher, extprocTls?.watcher]) w?.close();
  for (const v of Object.values(volumes)) v.remove();
});

/** A client with certificates as the client volume holds them now (read per request, as a pod's process would reload them). */
function clientTls() {
  return {
    cert: readFileSync(volumes.client.path('tls.crt')),
    key: readFileSync(volumes.client.path('tls.key')),
    ca: readFileSync(volumes.client.path('ca.crt')),
  };
}

/** A new xDS connection (a full mutual-TLS handshake), one runtime response, closed. */
function freshXdsFetch(credentials: grpc.ChannelCredentials, i: number): Promise<void> {
  const client = createAdsClient(stack.xdsAddress, {}, credentials);
  return new Promise<void>((resolve, reject) => {
    const call: grpc.ClientDuplexStream<DiscoveryRequest, DiscoveryResponse> = client.StreamAggregatedResources();
    const timer = setTimeout(() => reject(new Error('no xDS response within 30 s')), 30_000);
    call.on('data', () => {
      clearTimeout(timer);
      resolve();
    });
    call.on('error', (err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    call.write({
      node: { id: `probe-${i}`, cluster: 'edge/gw/extproc' },
      typeUrl: runtimeTypeUrl,
      resourceNames: ['runtime'],
    });
  }).finally(() => client.close());
}

it('rotates the CA with no failed handshake or request, and the old CA is refused afterwards', async () => {
  const probeCredentials = grpcChannelCredentials(extprocTls.options);
  const authorities = () =>
    [xdsTls.watcher, devproxyTls.watcher, extprocTls.watcher].map((w) =>
      w
        .current()!
        .authorities.map((a) => a.subject)
        .join('+'),
    );
  const leafIssuers = () =>
    [xdsTls.watcher, devproxyTls.watcher, extprocTls.watcher].map((w) => w.current()!.leaf!.issuer);
  const sds = (name: string) => stack.devproxy.proxy.secrets.get(name);
  const publishListener = (which: 'old' | 'new', trust: string) => {
    const { secrets } = compileWithSecrets(manifests(which, trust), Number(stack.extproc.address.split(':')[1]));
    stack.xds.publishSecrets(secrets);
  };
  const phases: string[] = [];
  // Each phase must carry traffic of both kinds (every third request a fresh xDS handshake, the rest
  // HTTPS through the listener) before the next step: counted in requests, never in seconds.
  const perPhase = 30;

  const result = await driveLoad({
    concurrency: 8,
    request: async (i) => {
      if (i % 3 === 0) return freshXdsFetch(probeCredentials, i);
      const reply = await httpsGet(listenerPort, `/api/${i}`, clientTls());
      if (reply.status !== 200) throw new Error(`HTTPS request answered ${reply.status}`);
    },
    during: async (load) => {
      await load.served(perPhase, 'traffic on the old CA');
      // 1. Every trust bundle gets the new CA.
      writeVolumes('old', bundle(oldCa, newCa));
      publishListener('old', bundle(oldCa, newCa));
      await until(
        () =>
          authorities().every((a) => a === 'CN=Gatehouse CA 2025+CN=Gatehouse CA 2026') &&
          sds('ca:edge/gw-tls')?.authorities.length === 2,
        'bundles with both CAs',
      );
      phases.push('overlap');
      await load.served(perPhase, 'traffic with both CAs trusted');
      // 2. Every leaf is re-signed by the new CA.
      writeVolumes('new', bundle(oldCa, newCa));
      publishListener('new', bundle(oldCa, newCa));
      await until(
        () =>
          leafIssuers().every((i) => i === 'CN=Gatehouse CA 2026') &&
          sds('tls:edge/gw-tls')?.leaf?.issuer === 'CN=Gatehouse CA 2026',
        'leaves from the new CA',
      );
      phases.push('new leaves');
      await load.served(perPhase, 'traffic with the new leaves');
      // 3. The old CA leaves the bundles.
      writeVolumes('new', bundle(newCa));
      publishListener('new', bundle(newCa));
      await until(
        () =>
          authorities().every((a) => a === 'CN=Gatehouse CA 2026') && sds('ca:edge/gw-tls')?.authorities.length === 1,
        'bundles with the new CA only',
      );
      phases.push('old CA retired');
      await load.served(perPhase, 'traffic with the old CA retired');
    },
  });

  expect(phases).toEqual(['overlap', 'new leaves', 'old CA retired']);
  expect(result.errors).toEqual([]);
  expect(result.failed).toBe(0);
  expect(result.ok).toBeGreaterThanOrEqual(4 * perPhase);
  expect(stack.refused.map((r) => `${r.where}: ${r.err.message}`)).toEqual([]);
  // The long-lived streams never dropped.
  expect(subscription.state()).toMatchObject({ connected: true, origin: 'control-plane' });
  expect(extprocLog.find((l) => l.msg === 'xDS stream down; reconnecting')).toBeUndefined();
  expect(log.lines.filter((l) => l.msg === 'xDS stream established')).toHaveLength(1);
  expect(log.find((l) => String(l.msg).startsWith('xDS stream ended'))).toBeUndefined();

  // The retired CA is no longer trusted: a client certificate it signed is refused, naming it.
  const stale = await issueLeaf(oldCa, 'api-client', { dns: ['api-client'] });
  await expect(
    httpsGet(listenerPort, '/api/stale', { cert: stale.cert, key: stale.key, ca: newCa.cert }),
  ).rejects.toThrow();
  await until(
    () =>
      stack.refused.some((r) =>
        r.err.message.includes('certificate signed by unknown authority: issuer CN=Gatehouse CA 2025'),
      ),
    'the listener to refuse the old CA',
  );
  expect(log.text()).not.toContain('PRIVATE KEY');
}, 120_000);
