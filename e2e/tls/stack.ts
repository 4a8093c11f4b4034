// The data path on loopback with TLS where the test wants it: the operator's xDS server (optionally
// over mutual TLS), a real extproc, an echo upstream and devproxy (optionally dialling xDS over
// mutual TLS) with every listener on a free port. Publishing waits until devproxy has applied the
// snapshot and its SDS secrets (so TLS listeners are bound).
import type * as grpc from '@grpc/grpc-js';
import type { Server } from 'node:http';
import type { GatehouseError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/log.ts';
import type { ServerTls } from '../../lib/tls/flags.ts';
import type { Snapshot } from '../../operator/src/compile/compile.ts';
import { XdsControlPlane } from '../../operator/src/xds/control-plane.ts';
import type { SdsSecret } from '../../operator/src/xds/sds.ts';
import { startTestServer, type TestServer } from '../../extproc/src/server/test-server.test-support.ts';
import { startDevproxy, type RunningDevproxy } from '../../devproxy/src/main.ts';
import { appliedEverywhere, closeServer, startEcho, waitFor } from '../dev/harness.ts';
import { apiProxyYaml } from './fixtures.ts';

export interface TlsStack {
  xds: XdsControlPlane;
  xdsAddress: string;
  extproc: TestServer;
  echoPort: number;
  devproxy: RunningDevproxy;
  nodeId: string;
  /** Refusals by the xDS server and by devproxy's listeners. */
  refused: Array<{ where: string; err: GatehouseError }>;
  publish(snapshot: Snapshot, secrets: ReadonlyMap<string, SdsSecret>): Promise<void>;
  /** Port of a devproxy listener ("namespace/dataplane/listener"). */
  port(listener: string): number;
  close(): Promise<void>;
}

let nodes = 0;

export async function startTlsStack(o: {
  log: Logger;
  xdsTls?: ServerTls;
  devproxyXdsCredentials?: grpc.ChannelCredentials;
}): Promise<TlsStack> {
  const refused: TlsStack['refused'] = [];
  const xds = new XdsControlPlane({
    log: o.log,
    ...(o.xdsTls ? { tls: o.xdsTls } : {}),
    onTlsRefused: (err) => refused.push({ where: 'xds', err }),
  });
  const { xdsPort } = await xds.listen({ host: '127.0.0.1', xdsPort: 0 });
  const extproc = await startTestServer();
  const echo: { server: Server; port: number } = await startEcho();
  const nodeId = `devproxy-tls-${process.pid}-${++nodes}`;
  const devproxy = startDevproxy({
    xds: `127.0.0.1:${xdsPort}`,
    nodeId,
    log: o.log,
    bindAddress: () => ({ host: '127.0.0.1', port: 0 }),
    ...(o.devproxyXdsCredentials ? { xdsCredentials: o.devproxyXdsCredentials } : {}),
    onTlsRefused: (listener, err) => refused.push({ where: listener, err }),
  });
  return {
    xds,
    xdsAddress: `127.0.0.1:${xdsPort}`,
    extproc,
    echoPort: echo.port,
    devproxy,
    nodeId,
    refused,
    async publish(snapshot, secrets) {
      extproc.apply(snapshot.runtime);
      xds.publish(snapshot, secrets);
      await waitFor(
        () => appliedEverywhere(xds, nodeId, snapshot.version),
        `devproxy to apply ${snapshot.version}`,
        15_000,
      );
    },
    port(listener) {
      const bound = devproxy.proxy.boundListeners().get(listener);
      if (!bound) throw new Error(`listener ${listener} is not bound`);
      return bound.port;
    },
    async close() {
      await devproxy.stop();
      await xds.stop();
      await extproc.close();
      await closeServer(echo.server);
    },
  };
}

/**
 * A DataPlane `edge/gw` with the given listeners (YAML flow items; none: the default HTTP listener)
 * and an ApiProxy /api to the echo upstream (with `tag`, through a header-setting policy).
 */
export function dataPlaneYaml(listeners: string[], echoPort: number, o: { tag?: string } = {}): string {
  const listenersYaml =
    listeners.length === 0
      ? ''
      : `  listeners:
${listeners.map((l) => `    - ${l}`).join('\n')}
`;
  return `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: gw, namespace: edge}
spec:
  # Generous: these suites count TLS failures, not latency, on a shared machine (and a new
  # connection's handshake is part of its first ext_proc message's time).
  messageTimeout: 5s
${listenersYaml}---
${apiProxyYaml({ namespace: 'edge', targetUrl: `http://127.0.0.1:${echoPort}`, ...o })}`;
}
