// `gatehouse operator --manifests DIR` with TLS: the xDS server requires client certificates, the
// listener Secrets in the folder go out over SDS (never in the snapshot), and editing a Secret in the
// folder renews the listener's certificate for new handshakes; `gatehouse extproc --xds-tls-*` as a
// real process subscribes over mutual TLS. (The --tls-* flag rules: lib/cli/tls.test.ts.)
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startClientTls, startServerTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { startFolderOperator, type FolderOperator } from '../../operator/src/main.ts';
import { startDevproxy, type RunningDevproxy } from '../../devproxy/src/main.ts';
import { closeServer, startEcho, waitFor } from '../dev/harness.ts';
import { httpsGet, probe, tlsSecretYaml, until } from './fixtures.ts';
import { captureLog } from './logs.ts';
import { createCa, issueLeaf, type TestCa, type TestLeaf } from './pki.ts';
import { startExtprocProcess } from './process.ts';
import { SecretVolume } from './secret-volume.ts';
import { dataPlaneYaml } from './stack.ts';

describe('folder mode over mutual TLS with SDS', () => {
  let ca: TestCa;
  let first: TestLeaf;
  let dir: string;
  const volumes = { server: new SecretVolume(), client: new SecretVolume(), extproc: new SecretVolume() };
  const log = captureLog('info');
  let operator: FolderOperator;
  let devproxy: RunningDevproxy;
  let echo: Awaited<ReturnType<typeof startEcho>>;
  const stops: Array<() => void> = [];

  const manifests = (
    leaf: TestLeaf,
  ) => `${dataPlaneYaml(['{name: https, port: 8443, protocol: HTTPS, tls: {secretRef: {name: gw-tls}, minVersion: TLSv1.3}}'], echo.port)}---
${tlsSecretYaml('edge', 'gw-tls', { cert: leaf.cert, key: leaf.key })}`;

  beforeAll(async () => {
    ca = await createCa('Gatehouse Cluster CA');
    first = await issueLeaf(ca, 'gw.edge.svc', { ip: ['127.0.0.1'] });
    const xdsLeaf = await issueLeaf(ca, 'gatehouse-xds', { ip: ['127.0.0.1'] });
    const envoyLeaf = await issueLeaf(ca, 'gw-envoy');
    volumes.server.write({ 'tls.crt': xdsLeaf.cert, 'tls.key': xdsLeaf.key, 'ca.crt': ca.cert });
    volumes.client.write({ 'tls.crt': envoyLeaf.cert, 'tls.key': envoyLeaf.key, 'ca.crt': ca.cert });
    const extprocLeaf = await issueLeaf(ca, 'gw-extproc');
    volumes.extproc.write({ 'tls.crt': extprocLeaf.cert, 'tls.key': extprocLeaf.key, 'ca.crt': ca.cert });
    echo = await startEcho();
    dir = mkdtempSync(join(tmpdir(), 'gatehouse-folder-tls-'));
    writeFileSync(join(dir, 'edge.yaml'), manifests(first));
    const tls = startServerTls(
      {
        certFile: volumes.server.path('tls.crt'),
        keyFile: volumes.server.path('tls.key'),
        clientCaFile: volumes.server.path('ca.crt'),
        policy: { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', cipherSuites: [] },
      },
      log.log,
      'xDS server',
    );
    stops.push(() => tls.watcher.close());
    operator = await startFolderOperator({
      manifests: dir,
      log: log.log,
      xdsPort: 0,
      host: '127.0.0.1',
      tls,
      debounceMs: 20,
      pollMs: 200,
      extProc: { host: '127.0.0.1', port: 9 },
    });
    const client = startClientTls(
      {
        caFile: volumes.client.path('ca.crt'),
        certFile: volumes.client.path('tls.crt'),
        keyFile: volumes.client.path('tls.key'),
      },
      log.log,
      'devproxy xDS client',
    );
    stops.push(() => client.watcher.close());
    devproxy = startDevproxy({
      xds: `127.0.0.1:${operator.xdsPort}`,
      nodeId: 'folder-envoy',
      log: log.log,
      bindAddress: () => ({ host: '127.0.0.1', port: 0 }),
      xdsCredentials: grpcChannelCredentials(client.options),
    });
    await waitFor(() => devproxy.proxy.boundListeners().has('edge/gw/https'), 'the HTTPS listener to bind', 15_000);
  });

  afterAll(async () => {
    await devproxy?.stop();
    await operator?.stop();
    for (const stop of stops) stop();
    if (echo) await closeServer(echo.server);
    for (const v of Object.values(volumes)) v.remove();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves the folder's Secret over SDS to devproxy connected with mutual TLS", async () => {
    const port = devproxy.proxy.boundListeners().get('edge/gw/https')!.port;
    expect(
      await probe('127.0.0.1', port, { ca: ca.cert, rejectUnauthorized: true, minVersion: 'TLSv1.3' }),
    ).toMatchObject({ serial: first.serial, protocol: 'TLSv1.3' });
    expect(log.text()).not.toContain('PRIVATE KEY');
  });

  it('gatehouse extproc --xds-tls-* subscribes over mutual TLS', async () => {
    const v = volumes.extproc;
    const proc = await startExtprocProcess([
      '--xds',
      `127.0.0.1:${operator.xdsPort}`,
      '--node-id',
      'extproc-mtls',
      '--xds-tls-ca',
      v.path('ca.crt'),
      '--xds-tls-cert',
      v.path('tls.crt'),
      '--xds-tls-key',
      v.path('tls.key'),
    ]);
    try {
      const readyz = await (await fetch(`http://127.0.0.1:${proc.metricsPort}/readyz`)).text();
      expect(readyz).toMatch(/^ready: snapshot /);
      expect(proc.logs.find((l) => l.msg === 'extproc serving')).toMatchObject({ xdsTls: 'mutual', tls: 'off' });
      await waitFor(
        () => operator.controlPlane.registry.get('extproc-mtls') !== undefined,
        'the node to be registered',
      );
    } finally {
      await proc.stop();
    }
  });

  it('renews the listener certificate when the Secret in the folder changes', async () => {
    const port = devproxy.proxy.boundListeners().get('edge/gw/https')!.port;
    const renewed = await issueLeaf(ca, 'gw.edge.svc', { ip: ['127.0.0.1'] });
    writeFileSync(join(dir, 'edge.yaml'), manifests(renewed));
    // The operator sees the folder change, recompiles and serves the new secret; devproxy applies it.
    await until(
      async () => (await probe('127.0.0.1', port, { ca: ca.cert, rejectUnauthorized: true })).serial === renewed.serial,
      'a new handshake to see the renewed certificate',
    );
    // HTTPS works end to end to the listener (extproc is not running here: the request fails closed).
    expect((await httpsGet(port, '/api/x', { ca: ca.cert })).status).toBe(500);
  });
});
