// The "verify certificate failed from IPs" incident: a component dialled by IP address verifies the
// peer by its IP SAN. A certificate with IP SAN 127.0.0.1 and no DNS SAN verifies when dialling
// 127.0.0.1 (extproc's xDS client, an ext_proc client, devproxy's upstream TLS as compiled for an
// https://IP target, which sends no SNI); a certificate with only a DNS name is refused for the IP.
import type { TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { createExtprocServer } from '../../extproc/src/server/server.ts';
import { buildSnapshot } from '../../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { XdsControlPlane } from '../../operator/src/xds/control-plane.ts';
import { typeUrls, unpack } from '../../operator/src/compile/envoy/names.ts';
import { send, startStack, type Stack } from '../dev/harness.ts';
import { createExtProcClient } from '../envoy/client.ts';
import {
  httpsTargetYaml,
  publishToStack,
  roundTrip,
  startHttpsUpstream,
  subscribeOverTls,
  testSnapshot,
  until,
  type HttpsUpstream,
} from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';

let ca: TestCa;
let ipOnly: TestLeaf;
let dnsOnly: TestLeaf;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  ca = await createCa('Gatehouse Cluster CA');
  ipOnly = await issueLeaf(ca, 'by-address', { ip: ['127.0.0.1'] });
  dnsOnly = await issueLeaf(ca, 'by-name', { dns: ['localhost'] });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

function files(data: Record<string, string>): SecretVolume {
  const v = new SecretVolume();
  v.write(data);
  cleanups.push(() => v.remove());
  return v;
}

async function xdsServerWith(leaf: TestLeaf): Promise<string> {
  const log = captureLog('silent');
  const v = files({ 'tls.crt': leaf.cert, 'tls.key': leaf.key });
  const tls = startServerTls(
    { certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), policy: tlsPolicy({}) },
    log.log,
    'xDS server',
  );
  const cp = new XdsControlPlane({ log: log.log, tls });
  cp.publish(testSnapshot());
  const { xdsPort } = await cp.listen({ host: '127.0.0.1', xdsPort: 0 });
  cleanups.push(async () => {
    await cp.stop();
    tls.watcher.close();
  });
  return `127.0.0.1:${xdsPort}`;
}

function subscribe(address: string) {
  return subscribeOverTls(address, { caFile: files({ 'ca.crt': ca.cert }).path('ca.crt') }, cleanups);
}

describe('a certificate for an IP address', () => {
  it('verifies by its IP SAN when extproc dials the xDS server at 127.0.0.1', async () => {
    const { store } = await subscribe(await xdsServerWith(ipOnly));
    await until(() => store.current() !== undefined, 'the snapshot');
  });

  it('a DNS-only certificate is refused for the address, naming what it is valid for', async () => {
    const { store, log } = await subscribe(await xdsServerWith(dnsOnly));
    await until(
      () =>
        log.lines.some((l) =>
          String(l.error).includes('certificate is not valid for 127.0.0.1: its names are DNS:localhost'),
        ),
      'the refusal',
    );
    expect(store.current()).toBeUndefined();
  });

  it('verifies by its IP SAN for an ext_proc client dialling 127.0.0.1', async () => {
    const log = captureLog('silent');
    const v = files({ 'tls.crt': ipOnly.cert, 'tls.key': ipOnly.key, 'ca.crt': ca.cert });
    const tls = startServerTls(
      { certFile: v.path('tls.crt'), keyFile: v.path('tls.key'), policy: tlsPolicy({}) },
      log.log,
      'ext_proc server',
    );
    const snapshots = new SnapshotStore();
    snapshots.apply(buildSnapshot(testSnapshot().runtime));
    const server = createExtprocServer({ snapshots, stores: createMemoryStores(), log: log.log, tls });
    const port = await server.listen('127.0.0.1', 0);
    cleanups.push(async () => {
      await server.shutdown(500);
      tls.watcher.close();
    });
    const clientTls = startClientTls({ caFile: v.path('ca.crt') }, log.log, 'ext_proc client');
    cleanups.push(() => clientTls.watcher.close());
    const client = createExtProcClient(`127.0.0.1:${port}`, undefined, grpcChannelCredentials(clientTls.options));
    await roundTrip(client);
    client.close();
  });
});

describe('devproxy upstream TLS to https://127.0.0.1', () => {
  let stack: Stack;
  let upstream: HttpsUpstream;
  const sni: Array<string | false> = [];

  beforeAll(async () => {
    upstream = await startHttpsUpstream(ipOnly, 'by address');
    upstream.server.on('secureConnection', (s: TLSSocket) =>
      sni.push((s as TLSSocket & { servername?: string | false }).servername ?? false),
    );
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  it('verifies the upstream by its IP SAN and sends no SNI', async () => {
    const snapshot = await publishToStack(stack, httpsTargetYaml('by-ip', upstream.port, ca.cert));
    const cluster = snapshot.envoy.clusters.find((c) => c.name === 'tls/by-ip')!;
    const context = unpack(cluster.transport_socket?.typed_config, typeUrls.upstreamTls);
    expect(context?.common_tls_context).toBeDefined();
    expect(context?.sni).toBeUndefined();
    expect(JSON.stringify(cluster)).toContain('"san_type":"IP_ADDRESS"');
    const reply = await send(`${stack.baseUrl()}/by-ip/x`);
    expect(reply).toMatchObject({ status: 200, body: 'by address' });
    expect(sni).toEqual([false]);
  });
});
