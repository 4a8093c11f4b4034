// Shared by the TLS suites: a runtime snapshot for extproc, an ext_proc round trip as Envoy makes it,
// a bounded loopback load that counts failures and follows the scenario's phases (never a rate or a
// duration), and a raw TLS probe that reports what a new handshake sees (the server's serial) or why
// it failed.
import { once } from 'node:events';
import { createServer, request, type RequestOptions, type Server as HttpsServer } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { startClientTls, type ClientTlsConfig } from '../../lib/tls/flags.ts';
import { grpcChannelCredentials } from '../../lib/tls/grpc.ts';
import { SnapshotStore } from '../../extproc/src/config/snapshot-store.ts';
import { XdsSnapshotSource } from '../../extproc/src/config/xds-source.ts';
import type { ExternalProcessorClient } from '../envoy/client.ts';
import { runExtProcExchange } from '../envoy/exchange.ts';
import {
  appliedEverywhere,
  compileYaml,
  pathReady,
  waitFor,
  withGenerousDataPlane,
  type Stack,
} from '../dev/harness.ts';
import { compile, type CompileOptions, type Snapshot } from '../../operator/src/compile/compile.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';
import { captureLog, type CapturedLog } from './logs.ts';
import { sdsSecretsFor, secretLookupFromObjects, type SdsSecret } from '../../operator/src/xds/sds.ts';

/** One ApiProxy, `tls/api` on /api, with a header-setting policy: every round trip runs a policy. */
export function testSnapshot(extProcPort = 9002): Snapshot {
  return compileYaml({
    extProcPort,
    yaml: apiProxyYaml({ namespace: 'tls', targetUrl: 'http://127.0.0.1:9', tag: 'tls' }),
  });
}

/**
 * ApiProxy `<namespace>/api` on /api to `targetUrl`; with `tag`, an ApiPolicy in its preFlow sets the header x-tag
 * to it.
 */
export function apiProxyYaml(o: { namespace: string; targetUrl: string; tag?: string }): string {
  const proxy = `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: api, namespace: ${o.namespace}}
spec:
  basePath: /api
  target: {url: "${o.targetUrl}"}
`;
  if (o.tag === undefined) return proxy;
  return `${proxy}  flows: {preFlow: {request: [{policy: tag}]}}
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiPolicy
metadata: {name: tag, namespace: ${o.namespace}}
spec: {type: AssignMessage, assignMessage: {set: {headers: {x-tag: ${o.tag}}}}}
`;
}

/** One request through ext_proc as Envoy sends it; throws unless it reached the (stub) upstream with the policy applied. */
export async function roundTrip(client: ExternalProcessorClient): Promise<void> {
  const result = await runExtProcExchange({
    client,
    route: 'tls/api',
    timeoutMs: 10_000,
    request: { method: 'GET', path: '/api/x', authority: 'api', headers: [], body: Buffer.alloc(0) },
    upstream: (req) => ({
      status: req.headers.some(([n, v]) => n === 'x-tag' && v === 'tls') ? 200 : 500,
      headers: [],
      body: Buffer.alloc(0),
    }),
  });
  if (result.failure !== undefined) throw new Error(`ext_proc failed: ${result.failure}`);
  if (result.response.status !== 200) throw new Error(`unexpected status ${result.response.status}`);
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: string[];
}

/** The running load, as `during` sees it. */
export interface Load {
  /**
   * Resolves once `n` requests started from now on have completed (succeeded or failed): traffic
   * that saw the state the scenario has reached. Fails, naming `what`, if they do not complete
   * within `timeoutMs` or the load reaches its `maxRequests` first.
   */
  served(n: number, what: string, timeoutMs?: number): Promise<void>;
}

/**
 * Bounded loopback load that follows the scenario, never the clock: `concurrency` clients each
 * start a request as soon as their previous one has ended, while `during` runs the scenario and
 * waits for traffic with `load.served(n)` (so every phase sees requests, however slow the machine).
 * The clients stop when `during` ends, or after `maxRequests` in all; requests in flight are awaited.
 */
export async function driveLoad(o: {
  concurrency: number;
  request: (i: number) => Promise<void>;
  during: (load: Load) => Promise<void>;
  maxRequests?: number;
}): Promise<LoadResult> {
  const result: LoadResult = { ok: 0, failed: 0, errors: [] };
  const maxRequests = o.maxRequests ?? 5_000;
  const waiters = new Set<{ from: number; need: number; seen: number; done: () => void; fail: (e: Error) => void }>();
  let next = 0;
  let stopped = false;
  const settled = (i: number) => {
    for (const w of waiters) {
      if (i >= w.from && ++w.seen >= w.need) w.done();
    }
  };
  const client = async () => {
    while (!stopped && next < maxRequests) {
      const i = next++;
      try {
        await o.request(i);
        result.ok++;
      } catch (err) {
        result.failed++;
        if (result.errors.length < 10) result.errors.push((err as Error).message);
      }
      settled(i);
      // Yield to timers and I/O between requests, as a client with a think time would.
      await new Promise((r) => setImmediate(r));
    }
    if (next >= maxRequests) {
      for (const w of waiters) w.fail(new Error(`the load reached its bound of ${maxRequests} requests`));
    }
  };
  const load: Load = {
    served(n, what, timeoutMs = 60_000) {
      return new Promise<void>((resolve, reject) => {
        const waiter = {
          from: next,
          need: n,
          seen: 0,
          done: () => finish(),
          fail: (e: Error) => finish(e),
        };
        const timer = setTimeout(
          () => waiter.fail(new Error(`${waiter.seen} of ${n} requests completed in ${timeoutMs} ms`)),
          timeoutMs,
        );
        const finish = (err?: Error) => {
          clearTimeout(timer);
          waiters.delete(waiter);
          if (err) reject(new Error(`waiting for ${what}: ${err.message}`));
          else resolve();
        };
        waiters.add(waiter);
      });
    },
  };
  const clients = Array.from({ length: o.concurrency }, () => client());
  try {
    await o.during(load);
  } finally {
    stopped = true;
    await Promise.all(clients);
  }
  return result;
}

export interface ProbeResult {
  serial?: string;
  issuer?: string;
  protocol?: string;
  error?: string;
}

/** A fresh TLS handshake (no session reuse): what the server presented, or the error. */
export function probe(host: string, port: number, options: ConnectionOptions = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ALPNProtocols: ['h2'], ...options }, () => {
      const cert = socket.getPeerCertificate();
      const out = {
        serial: cert.serialNumber,
        issuer: cert.issuer?.CN as string | undefined,
        protocol: socket.getProtocol() ?? undefined,
      };
      if (options.rejectUnauthorized === true && !socket.authorized)
        resolve({ ...out, error: String(socket.authorizationError) });
      else resolve(out);
      socket.end();
    });
    socket.on('error', (err: Error) => resolve({ error: err.message }));
  });
}

export async function until(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Compiles manifests and looks up the SDS secrets their listeners and clusters name (as the operator's wiring does). */
export function compileWithSecrets(
  yaml: string,
  extProcPort: number,
  options: Omit<CompileOptions, 'credentialHashKey'> = {},
): { snapshot: Snapshot; secrets: Map<string, SdsSecret> } {
  const parsed = parseManifests(yaml, 'test.yaml');
  const result = compile(parsed.objects, {
    extProc: { host: '127.0.0.1', port: extProcPort },
    credentialHashKey: 'test-key',
    ...options,
  });
  const errors = [...parsed.diagnostics, ...result.errors];
  if (errors.length > 0) throw new Error(`manifests do not compile: ${errors.map((e) => e.message).join('; ')}`);
  const problems: string[] = [];
  const secrets = sdsSecretsFor(result.snapshot, secretLookupFromObjects(parsed.objects), (p) =>
    problems.push(`${p.resource}: ${p.reason}`),
  );
  if (problems.length > 0) throw new Error(`SDS secrets missing: ${problems.join('; ')}`);
  return { snapshot: result.snapshot, secrets };
}

export const b64 = (s: string) => Buffer.from(s).toString('base64');

/** A kubernetes.io/tls Secret manifest. */
export function tlsSecretYaml(
  namespace: string,
  name: string,
  data: { cert?: string; key?: string; ca?: string },
): string {
  const entries = [
    ...(data.cert ? [`tls.crt: ${b64(data.cert)}`] : []),
    ...(data.key ? [`tls.key: ${b64(data.key)}`] : []),
    ...(data.ca ? [`ca.crt: ${b64(data.ca)}`] : []),
  ];
  return `apiVersion: v1
kind: Secret
metadata: {name: ${name}, namespace: ${namespace}}
type: kubernetes.io/tls
data: {${entries.join(', ')}}
`;
}

export interface HttpsReply {
  status: number;
  body: string;
  protocol: string | null;
  serial: string;
  /** The socket the request went over (to tell a reused keep-alive connection from a new one). */
  socket: TLSSocket;
}

/** One HTTPS request (HTTP/1.1) to 127.0.0.1:port; `tls` are the client's TLS options (versions, CA, client certificate, agent). */
export function httpsGet(port: number, path: string, tls: RequestOptions = {}): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', agent: false, ...tls }, (res) => {
      const chunks: Buffer[] = [];
      // Read now: a keep-alive agent takes the socket back once the response ends.
      const socket = res.socket as TLSSocket;
      const protocol = socket.getProtocol();
      const serial = socket.getPeerCertificate().serialNumber;
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString(), protocol, serial, socket }),
      );
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

export interface HttpsUpstream {
  server: HttpsServer;
  port: number;
  close(): Promise<void>;
}

/** An HTTPS server on a free loopback port presenting `leaf` and answering every request with `body`. */
export async function startHttpsUpstream(leaf: { cert: string; key: string }, body: string): Promise<HttpsUpstream> {
  const server = createServer({ cert: leaf.cert, key: leaf.key }, (_req, res) => res.end(body));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    port: (server.address() as { port: number }).port,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** ApiProxy `tls/<name>` on /<name> to https://127.0.0.1:port, trusting `caCert` (Secret `tls/cluster-ca`). */
export function httpsTargetYaml(name: string, upstreamPort: number, caCert: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${name}, namespace: tls}
spec:
  basePath: /${name}
  target: {url: "https://127.0.0.1:${upstreamPort}", tls: {caSecretRef: {name: cluster-ca}}}
---
${tlsSecretYaml('tls', 'cluster-ca', { ca: caCert })}`;
}

/**
 * Compiles `yaml` for the dev harness stack, gives it to its extproc and devproxy, and waits until
 * devproxy applied it and a request has made it through devproxy and extproc.
 */
export async function publishToStack(stack: Stack, yaml: string): Promise<Snapshot> {
  const { snapshot, secrets } = compileWithSecrets(
    withGenerousDataPlane(yaml),
    Number(stack.extproc.address.split(':')[1]),
  );
  stack.extproc.apply(snapshot.runtime);
  stack.xds.publish(snapshot, secrets);
  await waitFor(
    () => appliedEverywhere(stack.xds, stack.nodeId, snapshot.version),
    `devproxy to apply ${snapshot.version}`,
    30_000,
  );
  await pathReady(stack);
  return snapshot;
}

/**
 * extproc's xDS subscription over TLS with these client files, logging at debug (a short first wait
 * and backoff, so that a refusal shows quickly); stopping it is pushed onto `cleanups`.
 */
export async function subscribeOverTls(
  address: string,
  files: ClientTlsConfig,
  cleanups: Array<() => Promise<void> | void>,
): Promise<{ source: XdsSnapshotSource; store: SnapshotStore; log: CapturedLog }> {
  const log = captureLog('debug');
  const clientTls = startClientTls(files, log.log, 'xDS client');
  const source = new XdsSnapshotSource({
    address,
    log: log.log,
    nodeId: `extproc-${Math.random()}`,
    credentials: grpcChannelCredentials(clientTls.options),
    initialTimeoutMs: 200,
    backoffBaseMs: 50,
    backoffMaxMs: 200,
  });
  const store = new SnapshotStore();
  await source.start(store);
  cleanups.push(async () => {
    await source.stop();
    clientTls.watcher.close();
  });
  return { source, store, log };
}
