// A real Redis for tests: Debian's redis-server on a free loopback port, no persistence. Installed
// with apt-get when missing (the machines run as root); otherwise a clear message says what to do.
import { spawnSync } from 'node:child_process';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvStartError, TestEnvToolMissingError } from './errors.ts';
import { freePort } from './ports.ts';
import { ServiceProcess } from './processes.ts';

export interface RedisServer {
  url: string;
  port: number;
  process: ServiceProcess;
  stop(): Promise<void>;
}

function which(command: string): string | undefined {
  const found = spawnSync('sh', ['-c', `command -v ${command}`], { encoding: 'utf8' });
  return found.status === 0 ? found.stdout.trim() : undefined;
}

export function ensureRedisServer(log: (line: string) => void = () => {}): string {
  const found = process.env.GATEHOUSE_REDIS_SERVER ?? which('redis-server');
  if (found) return found;
  if (!which('apt-get') || process.getuid?.() !== 0) {
    throw new TestEnvToolMissingError(
      'redis-server is not installed and cannot be installed here (needs apt-get as root). Install ' +
        "Debian's redis-server package, or set GATEHOUSE_REDIS_SERVER to a redis-server binary.",
    );
  }
  log('installing redis-server with apt-get');
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'],
  ]) {
    const run = spawnSync('apt-get', args, {
      stdio: 'inherit',
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    });
    if (run.status !== 0)
      throw new TestEnvToolMissingError(`apt-get ${args.join(' ')} failed; install redis-server by hand`);
  }
  const installed = which('redis-server');
  if (!installed) throw new TestEnvToolMissingError('apt-get installed redis-server but it is not on PATH');
  return installed;
}

/** Starts redis-server on a free port, or on `port` (to restart one where its clients expect it). */
export async function startRedis(binary: string, logDir: string, port?: number): Promise<RedisServer> {
  port ??= await freePort();
  const proc = new ServiceProcess(
    `redis-${port}`,
    binary,
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--protected-mode', 'yes'],
    logDir,
  );
  const deadline = Date.now() + 15_000;
  while (!(await ping(port))) {
    if (!proc.running || Date.now() > deadline) {
      await proc.stop();
      throw new TestEnvStartError(`redis-server did not answer PING on port ${port}; see ${proc.logFile}`);
    }
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${port}`, port, process: proc, stop: () => proc.stop() };
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    socket.setTimeout(1_000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.destroy();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}
