// The egress-proxy incident: something in the path presents a certificate from its own CA. Every
// component refuses it and says who issued it: extproc's xDS client dialling a server with a foreign
// certificate, devproxy's upstream TLS (a target behind an intercepting proxy), the operator's xDS
// server and extproc's ext_proc server when a client certificate comes from the wrong CA.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../lib/errors.ts';
import { startClientTls, startServerTls, type ClientTlsConfig } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { createExtprocServer } from '../../extproc/src/server/server.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { XdsControlPlane } from '../../operator/src/xds/control-plane.ts';
import { send, startStack, type Stack } from '../dev/harness.ts';
import { createExtProcClient } from '../../devproxy/src/ext-proc/client.ts';
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

const ISSUER = 'certificate signed by unknown authority: issuer CN=Intercepting Proxy CA';
let ca: TestCa;
let proxyCa: TestCa;
let genuine: TestLeaf;
let forged: TestLeaf;
const volumes: SecretVolume[] = [];
const cleanups: Array<() => Promise<void> | void> = [];

function volume(data: Record<string, string>): SecretVolume {
  const v = new SecretVolume();
  v.write(data);
  volumes.push(v);
  return v;
}

beforeAll(async () => {
  ca = await createCa('Gatehouse Cluster CA');
  proxyCa = await createCa('Intercepting Proxy CA');
  genuine = await issueLeaf(ca, 'gatehouse-xds', { dns: ['localhost'], ip: ['127.0.0.1'] });
  // What an intercepting proxy mints on the fly: the right names, the wrong issuer.
  forged = await issueLeaf(proxyCa, 'gatehouse-xds', { dns: ['localhost'], ip: ['127.0.0.1'] });
});

afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  for (const v of volumes) v.remove();
});

/** An xDS server serving the test snapshot over TLS with `leaf`, optionally requiring client certificates from `clientCa`. */
async function xdsServer(leaf: TestLeaf, clientCa?: TestCa) {
  const log = captureLog('info');
  const files = volume({ 'tls.crt': leaf.cert, 'tls.key': leaf.key, ...(clientCa ? { 'ca.crt': clientCa.cert } : {}) });
  const tls = startServerTls(
    {
      certFile: files.path('tls.crt'),
      keyFile: files.path('tls.key'),
      ...(clientCa ? { clientCaFile: files.path('ca.crt') } : {}),
      policy: tlsPolicy({}),
    },
    log.log,
    'xDS server',
  );
  const refused: GatehouseError[] = [];
  const cp = new XdsControlPlane({ log: log.log, tls, onTlsRefused: (e) => refused.push(e) });
  cp.publish(testSnapshot());
  const { xdsPort } = await cp.listen({ host: '127.0.0.1', xdsPort: 0 });
  cleanups.push(async () => {
    await cp.stop();
    tls.watcher.close();
  });
  return { cp, address: `127.0.0.1:${xdsPort}`, log, refused };
}

/** extproc's xDS subscription with these client files. */
function xdsClient(address: string, files: ClientTlsConfig) {
  return subscribeOverTls(address, files, cleanups);
}

describe('a certificate from another CA', () => {
  it("is refused by extproc's xDS client, naming the issuer", async () => {
    const server = await xdsServer(forged);
    const trust = volume({ 'ca.crt': ca.cert });
    const { source, log } = await xdsClient(server.address, { caFile: trust.path('ca.crt') });
    await until(() => log.lines.some((l) => String(l.error).includes(ISSUER)), 'the refusal to be logged');
    expect(source.state()).toMatchObject({ origin: 'none', connected: false });
    expect(String(log.find((l) => String(l.error).includes(ISSUER))!.error)).toMatch(
      /GH_ERR_TLS_UNKNOWN_AUTHORITY|UnknownAuthorityError/,
    );
  });

  it('is accepted from the cluster CA (the same client, the genuine server)', async () => {
    const server = await xdsServer(genuine);
    const trust = volume({ 'ca.crt': ca.cert });
    const { source, store } = await xdsClient(server.address, { caFile: trust.path('ca.crt') });
    await until(() => store.current() !== undefined, 'the snapshot over TLS');
    expect(source.state()).toMatchObject({ origin: 'control-plane', connected: true });
  });

  it("is refused by the operator's xDS server as a client certificate, naming the issuer", async () => {
    const server = await xdsServer(genuine, ca);
    const intruder = await issueLeaf(proxyCa, 'envoy');
    const files = volume({ 'ca.crt': ca.cert, 'tls.crt': intruder.cert, 'tls.key': intruder.key });
    const { store } = await xdsClient(server.address, {
      caFile: files.path('ca.crt'),
      certFile: files.path('tls.crt'),
      keyFile: files.path('tls.key'),
    });
    await until(() => server.refused.length > 0, 'the server to refuse the client');
    expect(server.refused[0]!.code).toBe('GH_ERR_TLS_UNKNOWN_AUTHORITY');
    expect(server.refused[0]!.message).toContain(ISSUER);
    expect(server.log.find((l) => l.code === 'GH_ERR_TLS_UNKNOWN_AUTHORITY')).toMatchObject({
      purpose: 'xDS server',
      level: 50,
    });
    expect(String(server.log.find((l) => l.code === 'GH_ERR_TLS_UNKNOWN_AUTHORITY')!.reason)).toContain(ISSUER);
    expect(store.current()).toBeUndefined();
    expect(server.cp.registry.list()).toEqual([]);

    // No client certificate at all is refused too.
    const noCert = volume({ 'ca.crt': ca.cert });
    await xdsClient(server.address, { caFile: noCert.path('ca.crt') });
    await until(
      () => server.refused.some((e) => e.code === 'GH_ERR_TLS_PEER_CERT_REQUIRED'),
      'a client without a certificate to be refused',
    );
  });

  it("is refused by extproc's ext_proc server as Envoy's client certificate, naming the issuer", async () => {
    const log = captureLog('info');
    const files = volume({ 'tls.crt': genuine.cert, 'tls.key': genuine.key, 'ca.crt': ca.cert });
    const tls = startServerTls(
      {
        certFile: files.path('tls.crt'),
        keyFile: files.path('tls.key'),
        clientCaFile: files.path('ca.crt'),
        policy: tlsPolicy({}),
      },
      log.log,
      'ext_proc server',
    );
    const refused: GatehouseError[] = [];
    const snapshots = new SnapshotStore();
    const server = createExtprocServer({
      snapshots,
      stores: createMemoryStores(),
      log: log.log,
      tls,
      onTlsRefused: (e) => refused.push(e),
    });
    const port = await server.listen('127.0.0.1', 0);
    cleanups.push(async () => {
      await server.shutdown(500);
      tls.watcher.close();
    });
    const intruder = await issueLeaf(proxyCa, 'envoy');
    const clientFiles = volume({ 'ca.crt': ca.cert, 'tls.crt': intruder.cert, 'tls.key': intruder.key });
    const clientTls = startClientTls(
      {
        caFile: clientFiles.path('ca.crt'),
        certFile: clientFiles.path('tls.crt'),
        keyFile: clientFiles.path('tls.key'),
      },
      log.log,
      'client',
    );
    cleanups.push(() => clientTls.watcher.close());
    const client = createExtProcClient(`127.0.0.1:${port}`, undefined, grpcChannelCredentials(clientTls.options));
    await expect(roundTrip(client)).rejects.toThrow();
    client.close();
    await until(() => refused.length > 0, 'the refusal');
    expect(refused[0]!.message).toContain(ISSUER);
  });
});

describe('devproxy upstream TLS behind an intercepting proxy', () => {
  let stack: Stack;
  let upstream: HttpsUpstream;

  beforeAll(async () => {
    upstream = await startHttpsUpstream(forged, 'intercepted');
    stack = await startStack();
  });

  afterAll(async () => {
    await stack.close();
    await upstream.close();
  });

  it('answers 503 naming the issuer of the certificate it was shown', async () => {
    await publishToStack(stack, httpsTargetYaml('egress', upstream.port, ca.cert));
    const reply = await send(`${stack.baseUrl()}/egress/x`);
    expect(reply.status).toBe(503);
    expect(reply.body).toContain(ISSUER);
    expect(reply.body).not.toContain('intercepted');
  });
});
