// `gatehouse extproc` as a real process with TLS flags, as a DataPlane pod runs it: started, waited
// for (/readyz on the plain-text metrics port), its JSON log lines kept for assertions.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../env/ports.ts';

const root = new URL('../..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const bin = join(root, 'bin/gatehouse.js');

export interface GatehouseProcess {
  port: number;
  metricsPort: number;
  /** Parsed JSON log lines so far. */
  logs: Array<Record<string, unknown>>;
  stop(): Promise<void>;
}

/** Starts `gatehouse extproc --port P --metrics-port M ...args` and waits until /readyz answers 200. */
export async function startExtprocProcess(args: string[]): Promise<GatehouseProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc: ChildProcess = spawn(
    node,
    [bin, 'extproc', '--port', String(port), '--metrics-port', String(metricsPort), ...args],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'info' } },
  );
  const logs: Array<Record<string, unknown>> = [];
  let buffered = '';
  proc.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString();
    const lines = buffered.split('\n');
    buffered = lines.pop()!;
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        // not a log line
      }
    }
  });
  let stderr = '';
  proc.stderr!.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`gatehouse extproc exited with ${proc.exitCode}: ${stderr}`);
    if (
      await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      return { port, metricsPort, logs, stop };
    await sleep(100);
  }
  await stop();
  throw new Error(`gatehouse extproc did not become ready: ${stderr}`);
}
