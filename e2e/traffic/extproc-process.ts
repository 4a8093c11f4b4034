// Traffic suites run Gatehouse as users do: `gatehouse compile` writes the snapshot, `gatehouse
// extproc` processes serve it, and Envoy-style streams (e2e/envoy) carry the requests.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../env/ports.ts';
import { createExtProcClient, type ExternalProcessorClient } from '../envoy/client.ts';
import { runExtProcExchange, type ExchangeResult } from '../envoy/exchange.ts';

const root = new URL('../..', import.meta.url).pathname;
const node = join(root, 'node_modules/.bin/node');
const bin = join(root, 'bin/gatehouse.js');

/**
 * Route `traffic/metered` (/metered): one hourly Quota of `allow` per x-tenant header. The window
 * starts a minute before the manifests are made, so a test sits inside one window.
 */
export const meteredProxy = (allow: number) => `
apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: metered, namespace: traffic}
spec:
  basePath: /metered
  target: {url: "http://127.0.0.1:9"}
  flows:
    preFlow:
      request: [{policy: per-hour}]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: per-hour, namespace: traffic}
spec:
  type: Quota
  quota: {type: calendar, allow: ${allow}, interval: 1, timeUnit: hour, startTime: "${new Date(Date.now() - 60_000).toISOString()}",
          identifier: {ref: request.header.x-tenant}, distributed: true, synchronous: true}
`;

/** Writes `manifests` into `dir` and compiles them with the real CLI; returns the snapshot's path. */
export function compileSnapshot(dir: string, manifests: string): string {
  writeFileSync(join(dir, 'manifests.yaml'), manifests);
  const out = join(dir, 'snapshot.json');
  execFileSync(node, [bin, 'compile', '-f', dir, '-o', out], { stdio: 'pipe' });
  return out;
}

export interface ExtprocProcess {
  client: ExternalProcessorClient;
  stop(): Promise<void>;
}

/** Starts `gatehouse extproc --snapshot FILE ...args` and waits for /readyz. */
export async function startExtproc(
  snapshot: string,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<ExtprocProcess> {
  const [port, metricsPort] = [await freePort(), await freePort()];
  const proc: ChildProcess = spawn(
    node,
    [bin, 'extproc', '--snapshot', snapshot, '--port', String(port), '--metrics-port', String(metricsPort), ...args],
    { stdio: 'ignore', env: { ...process.env, GATEHOUSE_LOG_LEVEL: 'warn', ...env } },
  );
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  for (let i = 0; i < 200; i++) {
    if (proc.exitCode !== null) throw new Error(`gatehouse extproc exited with ${proc.exitCode}`);
    if (
      await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    ) {
      const client = createExtProcClient(`127.0.0.1:${port}`);
      return {
        client,
        stop: async () => {
          client.close();
          await stop();
        },
      };
    }
    await sleep(100);
  }
  await stop();
  throw new Error('gatehouse extproc did not become ready');
}

/** One GET through ext_proc as Envoy sends it, answered 200 by a stand-in upstream. */
export function get(
  client: ExternalProcessorClient,
  route: string,
  path: string,
  headers: Array<[string, string]>,
  timeoutMs = 5_000,
): Promise<ExchangeResult> {
  return runExtProcExchange({
    client,
    route,
    timeoutMs,
    request: { method: 'GET', path, authority: 'api', headers, body: Buffer.alloc(0) },
    upstream: () => ({ status: 200, headers: [], body: Buffer.alloc(0) }),
  });
}
