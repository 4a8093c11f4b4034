// Child services of the test environment. Each runs in its own process group and is watched by a
// detached reaper that kills it when the test runner dies without tearing down (a crash, SIGKILL), so
// no etcd or kube-apiserver outlives its run.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { join } from 'node:path';
import { TestEnvStartError } from './errors.ts';

const reaperScript = new URL('./reaper.sh', import.meta.url).pathname;

export class ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logFile: string;
  private readonly log: WriteStream;
  private exited = false;

  constructor(
    name: string,
    command: string,
    args: string[],
    logDir: string,
    options: { env?: NodeJS.ProcessEnv } = {},
  ) {
    this.name = name;
    this.logFile = join(logDir, `${name}.log`);
    this.log = createWriteStream(this.logFile);
    this.child = spawn(command, args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
      ...(options.env ? { env: options.env } : {}),
    });
    this.child.stdout?.pipe(this.log, { end: false });
    this.child.stderr?.pipe(this.log, { end: false });
    this.child.on('exit', () => {
      this.exited = true;
    });
    if (this.child.pid === undefined) throw new TestEnvStartError(`${name}: could not start ${command}`);
    // The reaper outlives us on purpose: it polls our pid and kills the service's group once we are gone.
    spawn('sh', [reaperScript, String(process.pid), String(this.child.pid)], {
      stdio: 'ignore',
      detached: true,
    }).unref();
  }

  get running(): boolean {
    return !this.exited;
  }

  /** SIGKILL the process group, as a crash or a lost machine would end it; resolves once it exited. */
  async kill(): Promise<void> {
    if (!this.exited) {
      const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      signalGroup(this.child.pid!, 'SIGKILL');
      await done;
    }
    this.log.end();
  }

  /** SIGTERM the process group, then SIGKILL after `graceMs`. */
  async stop(graceMs = 5_000): Promise<void> {
    if (!this.exited) {
      const done = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
      signalGroup(this.child.pid!, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(this.child.pid!, 'SIGKILL'), graceMs);
      await done;
      clearTimeout(timer);
    }
    this.log.end();
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}
