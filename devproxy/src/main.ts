// Entry point of `gatehouse devproxy`, the Envoy stand-in for development and tests (DESIGN 7):
// subscribe to the xDS server as node --node, bind the listeners LDS names, proxy until SIGTERM.
import type { Options } from '../../bin/cli.ts';
import { once } from 'node:events';
import { parsePort } from '../../bin/cli.ts';
import { UsageError } from '../../lib/errors.ts';
import { Lifecycle } from '../../lib/lifecycle.ts';
import { createLogger, type Logger } from '../../lib/log.ts';
import { createAdminServer } from './admin.ts';
import type { ListenerConfig } from './config/model.ts';
import { DevProxy } from './proxy.ts';
import type { AdsClient } from './xds/ads-client.ts';

export interface DevproxyStartOptions {
  xds: string;
  nodeId: string;
  log: Logger;
  bindAddress?: (listener: ListenerConfig) => { host: string; port: number };
}

export interface RunningDevproxy {
  proxy: DevProxy;
  xds: AdsClient;
  stop: () => Promise<void>;
}

/** Starts devproxy in this process (also used by `gatehouse dev`). */
export function startDevproxy(o: DevproxyStartOptions): RunningDevproxy {
  const proxy = new DevProxy({ log: o.log, ...(o.bindAddress ? { bindAddress: o.bindAddress } : {}) });
  const xds = proxy.subscribe(o.xds, o.nodeId);
  return {
    proxy,
    xds,
    stop: async () => {
      xds.stop();
      await proxy.close();
    },
  };
}

export async function runDevproxy(options: Options): Promise<number> {
  const xds = String(options.xds ?? '127.0.0.1:18000');
  if (!/^[^:]+:\d+$/.test(xds) && !/^\[.+\]:\d+$/.test(xds)) throw new UsageError(`gatehouse devproxy: --xds: "${xds}" is not HOST:PORT`);
  const log = createLogger('devproxy');
  log.warn('devproxy stands in for Envoy in development and tests; production runs Envoy');
  const adminPort = parsePort('devproxy', 'admin-port', String(options['admin-port'] ?? '9901'));
  const running = startDevproxy({ xds, nodeId: String(options.node ?? 'devproxy'), log });
  const admin = createAdminServer(running.proxy.metrics, () => running.proxy.ready);
  admin.listen(adminPort, '127.0.0.1');
  await once(admin, 'listening');
  log.info({ adminPort: (admin.address() as { port: number }).port }, 'admin endpoint: /ready, /stats/prometheus');
  const lifecycle = new Lifecycle(log);
  lifecycle.onStop('admin endpoint', () => new Promise<void>((resolve) => admin.close(() => resolve())));
  lifecycle.onStop('devproxy', () => running.stop());
  await lifecycle.handleSignals();
  log.info('devproxy stopped');
  return 0;
}
