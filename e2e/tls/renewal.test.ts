// Renewal under load (issue 8): extproc serves ext_proc over mutual TLS from Secret-mounted files;
// Envoy-side clients make ext_proc round trips at a bounded loopback rate, on one long-lived channel
// and on a fresh connection (a new handshake) per request. At two thirds of their life the server's
// and the client's certificates are renewed (same CA) by kubelet's atomic swap of the volume. No
// request and no handshake fails across the swap; new handshakes present the new serial; the
// long-lived channel keeps its connection.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../lib/errors.ts';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { createExtprocServer, type ExtprocServer } from '../../extproc/src/server/server.ts';
import { buildSnapshot } from '../../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../../devproxy/src/ext-proc/client.ts';
import { driveLoad, probe, roundTrip, testSnapshot, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';
import { TRANSPORTS } from '../../extproc/src/server/transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  const lifetimeMs = 3 * 3600_000;
  /** Issued so that now is two thirds into its life: the certificates controller renews here (docs/architecture.md#the-operator). */
  const atTwoThirds = () => ({ notBefore: new Date(Date.now() - (2 / 3) * lifetimeMs), lifetimeMs });

  let ca: TestCa;
  let serverVolume: SecretVolume;
  let clientVolume: SecretVolume;
  let server: ExtprocServer;
  let port: number;
  const refused: GatehouseError[] = [];
  const serverLog = captureLog('info');
  const clientLog = captureLog('info');
  let clientTls: ReturnType<typeof startClientTls>;
  let serverTls: ReturnType<typeof startServerTls>;
  let oldServer: TestLeaf;
  let oldClient: TestLeaf;

  beforeAll(async () => {
    ca = await createCa('Gatehouse Cluster CA');
    oldServer = await issueLeaf(ca, 'extproc', { dns: ['gw-extproc.edge.svc'], ip: ['127.0.0.1'], ...atTwoThirds() });
    oldClient = await issueLeaf(ca, 'envoy', { dns: ['gw-envoy.edge.svc'], ...atTwoThirds() });
    serverVolume = new SecretVolume();
    serverVolume.write({ 'tls.crt': oldServer.cert, 'tls.key': oldServer.key, 'ca.crt': ca.cert });
    clientVolume = new SecretVolume();
    clientVolume.write({ 'tls.crt': oldClient.cert, 'tls.key': oldClient.key, 'ca.crt': ca.cert });

    serverTls = startServerTls(
      {
        certFile: serverVolume.path('tls.crt'),
        keyFile: serverVolume.path('tls.key'),
        clientCaFile: serverVolume.path('ca.crt'),
        policy: tlsPolicy({}),
      },
      serverLog.log,
      'ext_proc server',
    );
    const snapshots = new SnapshotStore();
    snapshots.apply(buildSnapshot(testSnapshot().runtime));
    server = createExtprocServer({
      transport,
      snapshots,
      stores: createMemoryStores(),
      log: serverLog.log,
      tls: serverTls,
      onTlsRefused: (e) => refused.push(e),
    });
    port = await server.listen('127.0.0.1', 0);
    clientTls = startClientTls(
      {
        caFile: clientVolume.path('ca.crt'),
        certFile: clientVolume.path('tls.crt'),
        keyFile: clientVolume.path('tls.key'),
      },
      clientLog.log,
      'ext_proc client',
    );
  });

  afterAll(async () => {
    await server?.shutdown(1000);
    serverTls?.watcher.close();
    clientTls?.watcher.close();
    serverVolume?.remove();
    clientVolume?.remove();
  });

  it('renews the server and client certificates under load with no failed request or handshake', async () => {
    const credentials = grpcChannelCredentials(clientTls.options);
    const address = `127.0.0.1:${port}`;
    const longLived = createExtProcClient(address, undefined, credentials);
    await roundTrip(longLived);
    const before = await probe('127.0.0.1', port, {
      cert: oldClient.cert,
      key: oldClient.key,
      ca: ca.cert,
      rejectUnauthorized: true,
    });
    expect(before).toMatchObject({ serial: oldServer.serial });

    const newServer = await issueLeaf(ca, 'extproc', { dns: ['gw-extproc.edge.svc'], ip: ['127.0.0.1'] });
    const newClient = await issueLeaf(ca, 'envoy', { dns: ['gw-envoy.edge.svc'] });
    let freshAfterSwap = 0;
    let swapped = false;
    const result = await driveLoad({
      concurrency: 8,
      // Every other request on a new connection: a full TLS handshake with the material current then.
      request: async (i) => {
        if (i % 2 === 0) return roundTrip(longLived);
        const fresh: ExternalProcessorClient = createExtProcClient(address, undefined, credentials);
        try {
          await roundTrip(fresh);
          if (swapped) freshAfterSwap++;
        } finally {
          fresh.close();
        }
      },
      during: async (load) => {
        await load.served(40, 'traffic on the old certificates');
        serverVolume.write({ 'tls.crt': newServer.cert, 'tls.key': newServer.key, 'ca.crt': ca.cert });
        clientVolume.write({ 'tls.crt': newClient.cert, 'tls.key': newClient.key, 'ca.crt': ca.cert });
        await until(
          () =>
            serverTls.watcher.current()?.leaf?.serialNumber === newServer.serial &&
            clientTls.watcher.current()?.leaf?.serialNumber === newClient.serial,
          'both renewals to load',
        );
        swapped = true;
        await load.served(40, 'traffic on the renewed certificates');
        await until(() => freshAfterSwap >= 10, 'new handshakes after the renewal');
      },
    });
    longLived.close();

    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(freshAfterSwap).toBeGreaterThanOrEqual(10);
    expect(refused).toEqual([]);
    // A new handshake now sees the renewed certificate; the renewed client certificate is accepted.
    const after = await probe('127.0.0.1', port, {
      cert: newClient.cert,
      key: newClient.key,
      ca: ca.cert,
      rejectUnauthorized: true,
    });
    expect(after).toMatchObject({ serial: newServer.serial, issuer: 'Gatehouse Cluster CA' });
    expect(serverLog.find((l) => l.msg === 'TLS material reloaded')).toMatchObject({
      certificate: { serial: newServer.serial },
    });
    expect(serverLog.text() + clientLog.text()).not.toContain('PRIVATE KEY');
  });
});
