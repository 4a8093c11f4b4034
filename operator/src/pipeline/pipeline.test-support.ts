// Test support for the snapshot pipeline: manifests as YAML text, a temporary folder, a control plane
// that records what is published, a log the test can read, and a wait for a condition.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Snapshot } from '../compile/compile.ts';
import type { SdsSecret } from '../xds/sds.ts';

export const manifest = {
  proxy: (name: string, basePath: string, extra = '') => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: shop}
spec: {basePath: ${basePath}, target: {url: "http://127.0.0.1:9090"}${extra}}
`,
  dataPlane: (port: number | string) => `apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: edge, namespace: gw}
spec:
  region: local
  listeners: [{name: http, port: ${port}, protocol: HTTP}]
`,
  /** A DeveloperApp with one key, the ApiProduct it subscribes to and the key's Secret. */
  app: (status: 'Approved' | 'Revoked', key = 'k-123') => `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProduct
metadata: {name: basic, namespace: shop}
spec: {proxies: [orders], resources: ["/**"], approval: Auto}
---
apiVersion: gatehouse.dev/v1alpha1
kind: DeveloperApp
metadata: {name: mobile, namespace: shop}
spec:
  developer: {email: dev@example.com, name: Mobile}
  products: [{name: basic, status: Approved}]
  credentials: [{secretRef: {name: mobile-key}, status: ${status}}]
---
apiVersion: v1
kind: Secret
metadata: {name: mobile-key, namespace: shop}
stringData: {consumerKey: ${key}}
`,
  /** A YAML alias bomb: each level nine aliases of the one before. */
  aliasBomb: () =>
    [
      'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
      ...'bcdefghi'.split('').map((l, i) => {
        const prev = 'abcdefghi'[i]!;
        return `${l}: &${l} [${Array(9).fill(`*${prev}`).join(',')}]`;
      }),
      '',
    ].join('\n'),
};

/** `name:basePath` of every proxy in a snapshot's runtime. */
export function servedProxies(snapshot: Snapshot | undefined): string[] {
  const runtime = snapshot?.runtime as { proxies?: { name: string; basePath: string }[] } | undefined;
  return (runtime?.proxies ?? []).map((p) => `${p.name}:${p.basePath}`).sort();
}

/** Listener names of a snapshot. */
export function servedListeners(snapshot: Snapshot | undefined): string[] {
  return ((snapshot?.envoy.listeners ?? []) as { name: string }[]).map((l) => l.name).sort();
}

/** Credential statuses of the DeveloperApp shop/mobile. */
export function credentialStatuses(snapshot: Snapshot | undefined): string[] {
  const runtime = snapshot?.runtime as { apps?: { name: string; credentials: { status: string }[] }[] } | undefined;
  return (runtime?.apps ?? []).filter((a) => a.name === 'mobile').flatMap((a) => a.credentials.map((c) => c.status));
}

export function tempFolder(prefix = 'gatehouse-pipeline-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** A stand-in for XdsControlPlane.publish that keeps what it was given. */
export function recordingControlPlane() {
  const published: Array<{ snapshot: Snapshot; secrets?: ReadonlyMap<string, SdsSecret> }> = [];
  return {
    published,
    last: () => published.at(-1)?.snapshot,
    publish(snapshot: Snapshot, secrets?: ReadonlyMap<string, SdsSecret>) {
      published.push({ snapshot, secrets });
    },
  };
}

export interface LogLine {
  level: number;
  msg: string;
  [field: string]: unknown;
}

export function captureLog(): { log: Logger; lines: LogLine[]; errors: () => LogLine[]; warnings: () => LogLine[] } {
  const lines: LogLine[] = [];
  const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(JSON.parse(line) as LogLine) });
  return {
    log,
    lines,
    errors: () => lines.filter((l) => l.level === 50),
    warnings: () => lines.filter((l) => l.level === 40),
  };
}

/** Resolves when `check` holds; fails after `ms` with `what` (generous: tests run on loaded machines). */
export async function waitFor(what: string, check: () => boolean, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
