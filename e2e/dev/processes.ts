// Gatehouse commands as child processes for the end-to-end suites, each on free loopback ports,
// stopped with SIGTERM (and killed if they outlive it).
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { freePort } from '../env/ports.ts';

const bin = fileURLToPath(new URL('../../bin/gatehouse.js', import.meta.url));

export interface Command {
  child: ChildProcess;
  /** Everything it logged, for failure messages. */
  output(): string;
  /** SIGTERM by default; SIGKILL to kill it outright. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

export function gatehouse(args: string[]): Command {
  return nodeScript(bin, args);
}

/** `options.env` adds to this process's environment; `options.cwd` defaults to this process's. */
export function nodeScript(
  script: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string> } = {},
): Command {
  const child = spawn(process.execPath, [script, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info', ...options.env },
    ...(options.cwd ? { cwd: options.cwd } : {}),
  });
  let log = '';
  child.stdout.on('data', (c: Buffer) => {
    log += c.toString();
  });
  child.stderr.on('data', (c: Buffer) => {
    log += c.toString();
  });
  return {
    child,
    output: () => log,
    stop: (signal: NodeJS.Signals = 'SIGTERM') =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) return resolve();
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        child.once('exit', () => {
          clearTimeout(timer);
          resolve();
        });
        child.kill(signal);
      }),
  };
}

/** Resolves once `probe` succeeds; fails with the command's output if it exits or time runs out. */
export async function until(
  cmd: Command,
  what: string,
  probe: () => Promise<boolean>,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (cmd.child.exitCode !== null) throw new Error(`exited (${cmd.child.exitCode}) before ${what}:\n${cmd.output()}`);
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${cmd.output()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A free loopback port for each port `gatehouse dev` opens, and the flags that give them to it. */
export async function devPorts(): Promise<{ port: number; metricsPort: number; upstreamPort: number; args: string[] }> {
  const [port, extprocPort, xdsPort, metricsPort, upstreamPort] = await Promise.all(
    Array.from({ length: 5 }, () => freePort()),
  );
  return {
    port: port!,
    metricsPort: metricsPort!,
    upstreamPort: upstreamPort!,
    args: [
      '--port',
      String(port),
      '--extproc-port',
      String(extprocPort),
      '--xds-port',
      String(xdsPort),
      '--metrics-port',
      String(metricsPort),
      '--upstream-port',
      String(upstreamPort),
    ],
  };
}
