// `gatehouse dev`: every part on one machine, in one process tree. In this process: the operator in
// folder mode (compile + xDS, watching the folder), devproxy (the Envoy stand-in) subscribed over xDS,
// and the demo echo upstream, which stands in for the Service --upstream-service names (the examples
// target it). As a child process: extproc subscribed over xDS, exactly as it runs in a cluster. Ctrl-C
// (or SIGTERM) stops all of them. The planes load only when the command runs (bin/cli.ts lists this
// command's flags without them).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { defineCommand } from '../lib/cli/command.ts';
import { defineFlag, port, text, type FlagValues } from '../lib/cli/flags.ts';
import { GatehouseError, UsageError } from '../lib/errors.ts';
import type { Logger } from '../lib/log.ts';

const flags = {
  file: text({ short: 'f', value: 'DIR', default: 'examples', description: 'manifests to serve (watched)' }),
  port: port({ default: 8080, description: 'devproxy (the Envoy stand-in) HTTP port' }),
  'extproc-port': port({ default: 9002, description: 'ext_proc gRPC port' }),
  'xds-port': port({ default: 18000, description: 'ADS (xDS) gRPC port' }),
  'metrics-port': port({ default: 9003, description: 'extproc metrics and health port' }),
  'upstream-port': port({ default: 9090, description: 'port of the demo upstream (an echo service)' }),
  'upstream-service': defineFlag(
    {
      value: 'NS/NAME:PORT',
      // The key compile's serviceEndpoints option uses: namespace/name:port.
      parse: (t: string) => {
        const m = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-a-z0-9]*[a-z0-9])?:([1-9]\d{0,4})$/.exec(t);
        if (!m || Number(m[3]) > 65535) throw new UsageError(`"${t}" is not NAMESPACE/SERVICE:PORT`);
        return t;
      },
    },
    {
      default: 'shop/echo:80',
      description: 'the Service the demo upstream stands in for: targets naming it reach the demo upstream',
    },
  ),
  redis: text({ value: 'URL', description: 'shared state in Redis', defaultText: 'in-memory stores' }),
};

export type DevOptions = FlagValues<typeof flags>;

export const devCommand = defineCommand({
  name: 'dev',
  summary: 'everything on one machine: file source + xDS + extproc + devproxy + demo upstream',
  usage: 'gatehouse dev [-f DIR] [--port PORT] [--redis URL]',
  flags,
  run: runDev,
});

/** A part of `gatehouse dev` that stopped on its own. */
export class DevPartExitedError extends GatehouseError {
  constructor(part: string, detail: string) {
    super('GH_ERR_DEV_PART_EXITED', `${part} exited (${detail}); stopping gatehouse dev`);
  }
}

const gatehouseBin = fileURLToPath(new URL('./gatehouse.js', import.meta.url));

function spawnExtproc(args: string[]): ChildProcess {
  // Same Node, same bin: the child is `gatehouse extproc`, logging to this terminal. The IPC channel
  // is its lifeline: it stops when this process goes, even by SIGKILL (lib/lifecycle.ts).
  const child = spawn(process.execPath, [gatehouseBin, 'extproc', ...args], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.channel?.unref();
  // A crash of this process (an uncaught exception) takes the child with it at once.
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  };
  process.once('exit', kill);
  child.once('exit', () => process.off('exit', kill));
  return child;
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

export async function runDev(o: DevOptions): Promise<number> {
  const [
    { Lifecycle },
    { createLogger },
    { startFolderOperator },
    { createEchoUpstream, listenEcho },
    { startDevproxy },
  ] = await Promise.all([
    import('../lib/lifecycle.ts'),
    import('../lib/log.ts'),
    import('../operator/src/main.ts'),
    import('../devproxy/src/echo-upstream.ts'),
    import('../devproxy/src/main.ts'),
  ]);
  const { port, extprocPort, metricsPort, upstreamPort } = o;
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
  // Targets naming --upstream-service reach the echo upstream, whatever port it took.
  const echoPort = (echo.address() as { port: number }).port;
  log.info({ port: echoPort, service: o.upstreamService }, 'demo echo upstream listening');

  const operator = await startFolderOperator({
    manifests: o.file,
    xdsPort: o.xdsPort,
    host: '127.0.0.1',
    log: createLogger('operator'),
    extProc: { host: '127.0.0.1', port: extprocPort },
    serviceEndpoints: { [o.upstreamService]: [{ host: '127.0.0.1', port: echoPort }] },
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
    ...(o.redis !== undefined ? ['--redis', o.redis] : []),
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
