// `gatehouse dev`: every part on one machine, in one process tree. In this process: the operator in
// folder mode (compile + xDS, watching the folder), devproxy (the Envoy stand-in) subscribed over xDS,
// and the demo echo upstream. As a child process: extproc subscribed over xDS, exactly as it runs in
// a cluster. Ctrl-C (or SIGTERM) stops all of them.
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { Options } from './cli.ts';
import { parsePort } from './cli.ts';
import { GatehouseError, UsageError } from '../lib/errors.ts';
import { Lifecycle } from '../lib/lifecycle.ts';
import { createLogger, type Logger } from '../lib/log.ts';
import { startFolderOperator } from '../operator/src/main.ts';
import { createEchoUpstream, listenEcho } from '../devproxy/src/echo-upstream.ts';
import { startDevproxy } from '../devproxy/src/main.ts';

/** A part of `gatehouse dev` that stopped on its own. */
export class DevPartExitedError extends GatehouseError {
  constructor(part: string, detail: string) {
    super('GH_ERR_DEV_PART_EXITED', `${part} exited (${detail}); stopping gatehouse dev`);
  }
}

const gatehouseBin = fileURLToPath(new URL('./gatehouse.js', import.meta.url));

function spawnExtproc(args: string[]): ChildProcess {
  // Same Node, same bin: the child is `gatehouse extproc`, logging to this terminal.
  return spawn(process.execPath, [gatehouseBin, 'extproc', ...args], { stdio: ['ignore', 'inherit', 'inherit'] });
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

async function waitReady(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && child.exitCode === null) {
    const ok = await fetch(url).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  if (child.exitCode !== null) throw new DevPartExitedError('extproc', `exit code ${child.exitCode}`);
  throw new DevPartExitedError('extproc', `not ready within ${timeoutMs} ms at ${url}`);
}

function banner(log: Logger, port: number): void {
  log.info(
    { url: `http://localhost:${port}` },
    'gatehouse dev is up (devproxy stands in for Envoy; production runs Envoy)',
  );
  process.stderr.write(
    `\n  gatehouse dev: http://localhost:${port}\n` +
      `    curl -i localhost:${port}/orders/v1/orders                       # 401: no API key\n` +
      `    curl -i -H 'x-api-key: k-123' localhost:${port}/orders/v1/orders   # 200 from the echo upstream\n` +
      '  Edit the manifests and they apply without a restart. Ctrl-C stops everything.\n\n',
  );
}

export async function runDev(options: Options): Promise<number> {
  const manifests = typeof options.file === 'string' && options.file !== '' ? options.file : 'examples';
  const port = parsePort('dev', 'port', String(options.port ?? '8080'));
  const extprocPort = parsePort('dev', 'extproc-port', String(options['extproc-port'] ?? '9002'));
  const xdsPort = parsePort('dev', 'xds-port', String(options['xds-port'] ?? '18000'));
  const metricsPort = parsePort('dev', 'metrics-port', String(options['metrics-port'] ?? '9003'));
  const upstreamPort = parsePort('dev', 'upstream-port', String(options['upstream-port'] ?? '9090'));
  if (options.redis !== undefined && typeof options.redis !== 'string')
    throw new UsageError('gatehouse dev: --redis needs a URL');
  const log = createLogger('dev');
  const lifecycle = new Lifecycle(log);

  const echo = createEchoUpstream();
  await listenEcho(echo, '127.0.0.1', upstreamPort);
  lifecycle.onStop(
    'echo upstream',
    () =>
      new Promise<void>((resolve) => {
        echo.closeAllConnections();
        echo.close(() => resolve());
      }),
  );
  log.info({ port: upstreamPort }, 'demo echo upstream listening');

  const operator = await startFolderOperator({
    manifests,
    xdsPort,
    host: '127.0.0.1',
    log: createLogger('operator'),
    extProc: { host: '127.0.0.1', port: extprocPort },
  });
  lifecycle.onStop('operator', () => operator.stop());
  const xds = `127.0.0.1:${operator.xdsPort}`;

  const extproc = spawnExtproc([
    '--xds',
    xds,
    '--port',
    String(extprocPort),
    '--metrics-port',
    String(metricsPort),
    ...(typeof options.redis === 'string' ? ['--redis', options.redis] : []),
  ]);
  lifecycle.onStop('extproc', () => stopChild(extproc));

  // Every listener of the data plane binds as LDS says, except that the first one takes --port.
  let first: string | undefined;
  const devproxy = startDevproxy({
    xds,
    nodeId: 'gatehouse-dev',
    log: createLogger('devproxy'),
    bindAddress: (l) => {
      first ??= l.name;
      return { host: l.host, port: l.name === first ? port : l.port };
    },
  });
  lifecycle.onStop('devproxy', () => devproxy.stop());

  // Closed first: from here on a part exiting is the shutdown, not a failure.
  let stopping = false;
  lifecycle.onStop('gatehouse dev', () => {
    stopping = true;
  });
  const signalled = lifecycle.handleSignals();
  const partExited = new Promise<never>((_resolve, reject) => {
    extproc.once('exit', (code, signal) => {
      if (!stopping) reject(new DevPartExitedError('extproc', signal ?? `exit code ${code}`));
    });
  });
  try {
    await Promise.race([waitReady(`http://127.0.0.1:${metricsPort}/readyz`, extproc, 30_000), partExited]);
    banner(log, port);
    await Promise.race([signalled, partExited]);
  } catch (err) {
    await lifecycle.stop();
    throw err;
  }
  log.info('gatehouse dev stopped');
  return 0;
}
