// Envoy -> extproc over mutual TLS, as compiled with the extProcTls option: the DataPlane's gatehouse-extproc
// cluster reads Envoy's certificate and the CA bundle through filesystem SDS (the files a DataPlane's
// Envoy pod mounts), devproxy plays Envoy. As in Envoy, renewed files apply to connections opened
// from then on and open ones carry on; a CDS update (a new connection pool) makes the new connection
// here. Both certificates are renewed under traffic without a failed request; a client certificate
// from a foreign CA then makes extproc refuse Envoy (naming the issuer) and requests fail closed,
// until a good certificate is back.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatehouseError } from '../../lib/errors.ts';
import { startServerTls } from '../../lib/tls/flags.ts';
import { tlsPolicy } from '../../lib/tls/policy.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { createExtprocServer, type ExtprocServer } from '../../extproc/src/server/server.ts';
import { buildSnapshot } from '../../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../../extproc/src/stores/memory.ts';
import { extProcTlsSdsFiles } from '../../operator/src/compile/envoy/tls.ts';
import type { IrExtProcTls } from '../../operator/src/compile/ir.ts';
import { XdsControlPlane } from '../../operator/src/xds/control-plane.ts';
import { startDevproxy, type RunningDevproxy } from '../../devproxy/src/main.ts';
import { appliedEverywhere, closeServer, send, startEcho, waitFor } from '../dev/harness.ts';
import type { Snapshot } from '../../operator/src/compile/compile.ts';
import type { SdsSecret } from '../../operator/src/xds/sds.ts';
import { compileWithSecrets, driveLoad, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa } from './pki.ts';
import { SecretVolume } from './secret-volume.ts';
import { dataPlaneYaml } from './stack.ts';
import { TRANSPORTS } from '../../extproc/src/server/transport.ts';

describe.each(TRANSPORTS)('over %s', (transport) => {
  let ca: TestCa;
  const extprocFiles = new SecretVolume();
  const envoyTls = new SecretVolume();
  const envoyCa = new SecretVolume();
  const sdsDir = mkdtempSync(join(tmpdir(), 'gatehouse-envoy-sds-'));
  const log = captureLog('debug');
  const refused: GatehouseError[] = [];
  let serverTls: ReturnType<typeof startServerTls>;
  let extproc: ExtprocServer;
  let xds: XdsControlPlane;
  let devproxy: RunningDevproxy;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  let baseUrl: string;
  let published: { snapshot: Snapshot; secrets: Map<string, SdsSecret> };
  let pools = 0;
  const extprocName = 'gw-extproc.edge.svc';

  beforeAll(async () => {
    ca = await createCa('Gatehouse Cluster CA');
    const server = await issueLeaf(ca, 'gw-extproc', { dns: [extprocName] });
    const client = await issueLeaf(ca, 'gw-envoy', { dns: ['gw-envoy.edge.svc'] });
    extprocFiles.write({ 'tls.crt': server.cert, 'tls.key': server.key, 'ca.crt': ca.cert });
    envoyTls.write({ 'tls.crt': client.cert, 'tls.key': client.key });
    envoyCa.write({ 'ca.crt': ca.cert });

    echo = await startEcho();
    serverTls = startServerTls(
      {
        certFile: extprocFiles.path('tls.crt'),
        keyFile: extprocFiles.path('tls.key'),
        clientCaFile: extprocFiles.path('ca.crt'),
        policy: tlsPolicy({}),
      },
      log.log,
      'ext_proc server',
    );
    const snapshots = new SnapshotStore();
    extproc = createExtprocServer({
      transport,
      snapshots,
      stores: createMemoryStores(),
      log: log.log,
      tls: serverTls,
      onTlsRefused: (e) => refused.push(e),
    });
    const extProcPort = await extproc.listen('127.0.0.1', 0);

    const extProcTls: IrExtProcTls = {
      certFile: envoyTls.path('tls.crt'),
      keyFile: envoyTls.path('tls.key'),
      caFile: envoyCa.path('ca.crt'),
      sni: extprocName,
      sdsDir,
    };
    for (const [file, content] of Object.entries(extProcTlsSdsFiles(extProcTls)))
      writeFileSync(join(sdsDir, file), content);
    const { snapshot, secrets } = compileWithSecrets(dataPlaneYaml([], echo.port, { tag: 'via-mtls' }), extProcPort, {
      extProcTls,
    });
    snapshots.apply(buildSnapshot(snapshot.runtime));

    xds = new XdsControlPlane({ log: log.log });
    const { xdsPort } = await xds.listen({ host: '127.0.0.1', xdsPort: 0 });
    devproxy = startDevproxy({
      xds: `127.0.0.1:${xdsPort}`,
      nodeId: 'envoy-mtls',
      log: log.log,
      bindAddress: () => ({ host: '127.0.0.1', port: 0 }),
    });
    published = { snapshot, secrets };
    xds.publish(snapshot, secrets);
    await waitFor(() => appliedEverywhere(xds, 'envoy-mtls', snapshot.version), 'devproxy to apply the snapshot');
    baseUrl = `http://127.0.0.1:${[...devproxy.proxy.boundListeners().values()][0]!.port}`;
  });

  afterAll(async () => {
    await devproxy?.stop();
    await xds?.stop();
    await extproc?.shutdown(500);
    serverTls?.watcher.close();
    if (echo) await closeServer(echo.server);
    for (const v of [extprocFiles, envoyTls, envoyCa]) v.remove();
    rmSync(sdsDir, { recursive: true, force: true });
  });

  /** A CDS update of the ext_proc cluster: devproxy (as Envoy) builds a new connection pool, so the next requests handshake anew. */
  async function newExtprocPool(): Promise<void> {
    const snapshot = structuredClone(published.snapshot);
    const cluster = snapshot.envoy.clusters.find((c) => c.name === 'gatehouse-extproc/edge/gw')!;
    cluster.connect_timeout = `${2 + ++pools}s`;
    snapshot.version = `${published.snapshot.version}-pool-${pools}`;
    xds.publish(snapshot, published.secrets);
    await waitFor(
      () => appliedEverywhere(xds, 'envoy-mtls', snapshot.version),
      'devproxy to apply the new ext_proc cluster',
    );
  }

  /** Serials of the client certificates extproc has accepted so far. */
  const acceptedClients = () =>
    log.lines
      .filter((l) => l.msg === 'client certificate accepted')
      .map((l) => (l.peer as { serialNumber: string }).serialNumber);

  async function viaExtproc(path: string): Promise<void> {
    const reply = await send(`${baseUrl}${path}`);
    if (reply.status !== 200 || reply.echo?.headers['x-tag'] !== 'via-mtls')
      throw new Error(`${reply.status}: ${reply.body.slice(0, 200)}`);
  }

  it('sends every request through extproc over mutual TLS', async () => {
    await viaExtproc('/api/first');
    expect(refused).toEqual([]);
  });

  it("renews Envoy's and extproc's certificates under traffic without a failed request", async () => {
    const server = await issueLeaf(ca, 'gw-extproc', { dns: [extprocName] });
    const client = await issueLeaf(ca, 'gw-envoy', { dns: ['gw-envoy.edge.svc'] });
    const result = await driveLoad({
      concurrency: 8,
      request: (i) => viaExtproc(`/api/${i}`),
      during: async (load) => {
        await load.served(30, 'traffic on the first certificates');
        extprocFiles.write({ 'tls.crt': server.cert, 'tls.key': server.key, 'ca.crt': ca.cert });
        envoyTls.write({ 'tls.crt': client.cert, 'tls.key': client.key });
        await until(
          () =>
            serverTls.watcher.current()?.leaf?.serialNumber === server.serial &&
            log.lines.some(
              (l) => l.msg === 'TLS material reloaded' && l.purpose === 'cluster gatehouse-extproc/edge/gw',
            ),
          'both sides to load their renewed certificates',
        );
        await load.served(30, 'traffic on the open connection after the renewal');
        // Open connections carry on with the old certificates; a new pool connects with the new ones.
        await newExtprocPool();
        await load.served(30, 'traffic on the new connection pool');
      },
    });
    expect(result.errors).toEqual([]);
    expect(result.failed).toBe(0);
    expect(refused).toEqual([]);
    expect(
      log.find((l) => l.msg === 'TLS material reloaded' && l.purpose === 'cluster gatehouse-extproc/edge/gw'),
    ).toMatchObject({ certificate: { serial: client.serial } });
    expect(acceptedClients()).toContain(client.serial);
  });

  it('a client certificate from a foreign CA is refused by extproc, naming the issuer; a good one restores service', async () => {
    const foreign = await createCa('Intercepting Proxy CA');
    const forged = await issueLeaf(foreign, 'gw-envoy');
    envoyTls.write({ 'tls.crt': forged.cert, 'tls.key': forged.key });
    await until(
      () =>
        log.lines.some(
          (l) =>
            l.msg === 'TLS material reloaded' &&
            (l.certificate as { serial?: string } | undefined)?.serial === forged.serial,
        ),
      'devproxy to load the forged certificate',
    );
    // The open connection was authenticated before: it carries on, as in Envoy.
    await viaExtproc('/api/still-open');
    await newExtprocPool();
    await until(async () => (await send(`${baseUrl}/api/forged`)).status === 500, 'requests to fail closed');
    await until(
      () =>
        refused.some((e) =>
          e.message.includes('certificate signed by unknown authority: issuer CN=Intercepting Proxy CA'),
        ),
      'extproc to refuse the forged certificate',
    );
    const good = await issueLeaf(ca, 'gw-envoy', { dns: ['gw-envoy.edge.svc'] });
    envoyTls.write({ 'tls.crt': good.cert, 'tls.key': good.key });
    // gRPC retries the refused connection with backoff; it presents the good certificate once loaded.
    await until(async () => (await send(`${baseUrl}/api/good`)).status === 200, 'service to come back', 20_000);
    await viaExtproc('/api/after');
  });
});
