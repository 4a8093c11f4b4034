// Entry point of `gatehouse devproxy`, the Envoy stand-in for development and tests (docs/architecture-devproxy.md):
// subscribe to the xDS server as node --node (over mutual TLS with --xds-tls-*, as Envoy's bootstrap
// does), bind the listeners LDS names, proxy until SIGTERM.
import type * as grpc from '@grpc/grpc-js';
import { once } from 'node:events';
import { formatHostPort } from '../../lib/cli/flags.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { startClientTls } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { createAdminServer } from './admin.ts';
import type { DevproxyOptions } from './command.ts';
import type { ListenerConfig } from './config/model.ts';
import { DevProxy, type DevProxyOptions } from './proxy.ts';
import type { AdsClient } from './xds/ads-client.ts';

export interface DevproxyStartOptions {
  xds: string;
  nodeId: string;
  log: Logger;
  bindAddress?: (listener: ListenerConfig) => { host: string; port: number };
  /** TLS to the xDS server (default plain text). */
  xdsCredentials?: grpc.ChannelCredentials;
  onTlsRefused?: DevProxyOptions['onTlsRefused'];
  accessLog?: DevProxyOptions['accessLog'];
  traceFlushMs?: DevProxyOptions['traceFlushMs'];
}

export interface RunningDevproxy {
  proxy: DevProxy;
  xds: AdsClient;
  stop: () => Promise<void>;
}

/** Starts devproxy in this process (also used by `gatehouse dev`). */
export function startDevproxy(o: DevproxyStartOptions): RunningDevproxy {
  const proxy = new DevProxy({
    log: o.log,
    ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}),
    ...(o.onTlsRefused ? { onTlsRefused: o.onTlsRefused } : {}),
    ...(o.accessLog ? { accessLog: o.accessLog } : {}),
    ...(o.traceFlushMs !== undefined ? { traceFlushMs: o.traceFlushMs } : {}),
  });
  const xds = proxy.subscribe(o.xds, o.nodeId, o.xdsCredentials);
  return {
    proxy,
    xds,
    stop: async () => {
      xds.stop();
      await proxy.close();
    },
  };
}

export async function runDevproxy(o: DevproxyOptions): Promise<number> {
  const log = createLogger('devproxy');
  log.warn('devproxy stands in for Envoy in development and tests; production runs Envoy');
  const xdsTls = o.xdsTls ? startClientTls(o.xdsTls, log, 'xDS client') : undefined;
  const running = startDevproxy({
    xds: formatHostPort(o.xds),
    nodeId: o.node,
    log,
    ...(xdsTls ? { xdsCredentials: grpcChannelCredentials(xdsTls.options) } : {}),
  });
  const admin = createAdminServer(running.proxy.metrics, () => running.proxy.ready);
  admin.listen(o.adminPort, '127.0.0.1');
  await once(admin, 'listening');
  log.info({ adminPort: (admin.address() as { port: number }).port }, 'admin endpoint: /ready, /stats/prometheus');
  const lifecycle = new Lifecycle(log);
  lifecycle.onStop('admin endpoint', () => new Promise<void>((resolve) => admin.close(() => resolve())));
  lifecycle.onStop('devproxy', () => running.stop());
  if (xdsTls) lifecycle.onStop('xDS TLS files watcher', () => xdsTls.watcher.close());
  await lifecycle.handleSignals();
  log.info('devproxy stopped');
  return 0;
}
