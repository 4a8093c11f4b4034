// The whole path on loopback for tests: manifests compiled by the real compiler, served by the real
// xDS server (operator/src/xds), devproxy subscribed to it as Envoy would be, a real extproc, and echo
// upstreams. Tests may reach into both planes here; devproxy/src never does.
import { request, type Server } from 'node:http';
import { pino } from 'pino';
import { compile, type Snapshot } from '../../operator/src/compile/compile.ts';
import { parseManifests } from '../../operator/src/source/folder.ts';
import { XdsControlPlane } from '../../operator/src/xds/control-plane.ts';
import {
  startTestServer,
  type TestServer,
  type TestServerOptions,
} from '../../extproc/src/server/test-server.test-support.ts';
import { createEchoUpstream, listenEcho } from '../../devproxy/src/echo-upstream.ts';
import { startDevproxy, type RunningDevproxy } from '../../devproxy/src/main.ts';
import { eventually } from '../env/eventually.ts';

export const silentLog = pino({ level: 'silent' });

export interface CompileInput {
  yaml: string;
  extProcPort: number;
}

/** Compiles YAML manifests; any compile error fails the test with its message. */
export function compileYaml({ yaml, extProcPort }: CompileInput): Snapshot {
  const parsed = parseManifests(yaml, 'test.yaml');
  const result = compile(parsed.objects, {
    extProc: { host: '127.0.0.1', port: extProcPort },
    credentialHashKey: 'test-key',
  });
  const errors = [...parsed.diagnostics, ...result.errors];
  if (errors.length > 0) throw new Error(`manifests do not compile: ${errors.map((e) => e.message).join('; ')}`);
  return result.snapshot;
}

/**
 * Manifests without a DataPlane get one like the built-in default (its listener, fail closed) but with
 * a generous message timeout: tests judge what the path does, not latency, and on a loaded machine a
 * cold ext_proc stream or a policy's first run can outlast the default 200 ms (a 504). A test about
 * the timeout brings a DataPlane of its own.
 */
export function withGenerousDataPlane(yaml: string): string {
  if (/^kind:\s*DataPlane\s*$/m.test(yaml)) return yaml;
  return `${yaml.replace(/\n*$/, '\n')}---
apiVersion: gatehouse.dev/v1alpha1
kind: DataPlane
metadata: {name: default, namespace: default}
spec: {messageTimeout: 5s, listeners: [{name: http, port: 8080, allowedRoutes: {namespaces: {from: All}}}]}
`;
}

export async function startEcho(name = 'echo'): Promise<{ server: Server; port: number }> {
  const server = createEchoUpstream(name);
  return { server, port: await listenEcho(server, '127.0.0.1', 0) };
}

export const closeServer = (s: Server) =>
  new Promise<void>((resolve) => {
    s.closeAllConnections();
    s.close(() => resolve());
  });

export interface Stack {
  xds: XdsControlPlane;
  xdsAddress: string;
  extproc: TestServer;
  devproxy: RunningDevproxy;
  nodeId: string;
  /** Where the compiled ext_proc cluster points (the stack's extproc, or the scripted server the test gave). */
  extProcPort: number;
  /**
   * Compiles and publishes manifests (feeding extproc the runtime part; without a DataPlane, with
   * withGenerousDataPlane's), then waits until devproxy ACKed them.
   */
  publish(yaml: string): Promise<Snapshot>;
  /** Publishes a snapshot as is (tests make bad ones) and waits for devproxy's ACK or NACK of it. */
  publishSnapshot(snapshot: Snapshot, outcome: 'ack' | 'nack'): Promise<void>;
  /** http://127.0.0.1:PORT of the (first) listener. */
  baseUrl(): string;
  close(): Promise<void>;
}

let nodes = 0;

/** The node runs `version`: the server counts it synced only once its routes are ACKed too. */
export function appliedEverywhere(xds: XdsControlPlane, nodeId: string, version: string): boolean {
  const node = xds.registry.get(nodeId);
  return node?.syncedVersion === version && Object.values(node.types).every((t) => !t.pending);
}

/** `bindHost`: where devproxy's listeners bind (default 127.0.0.1; `::1` for an IPv6 peer). */
export async function startStack(
  options: {
    extProcPort?: number;
    bindHost?: string;
    extprocWork?: TestServerOptions['work'];
    /** The key service of the stack's extproc (VerifyJWT/VerifyJWS with jwksUri). */
    extprocKeys?: TestServerOptions['keys'];
    /** The egress client of the stack's extproc (ServiceCallout). */
    extprocEgress?: TestServerOptions['egress'];
    /** extproc's logger (default silent). */
    extprocLog?: TestServerOptions['log'];
    /** Where devproxy's access log lines go (default stdout). */
    accessLog?: (line: string) => void;
    /** extproc's tracer (default none). */
    extprocTracer?: TestServerOptions['tracer'];
    /** extproc's analytics recorder (default none). */
    extprocAnalytics?: TestServerOptions['analytics'];
    /** devproxy's span batch delay (default Envoy's 5 s). */
    traceFlushMs?: number;
  } = {},
): Promise<Stack> {
  const xds = new XdsControlPlane({ log: silentLog });
  const { xdsPort } = await xds.listen({ host: '127.0.0.1', xdsPort: 0 });
  const extproc = await startTestServer({
    ...(options.extprocWork ? { work: options.extprocWork } : {}),
    ...(options.extprocKeys ? { keys: options.extprocKeys } : {}),
    ...(options.extprocEgress ? { egress: options.extprocEgress } : {}),
    ...(options.extprocLog ? { log: options.extprocLog } : {}),
    ...(options.extprocTracer ? { tracer: options.extprocTracer } : {}),
    ...(options.extprocAnalytics ? { analytics: options.extprocAnalytics } : {}),
  });
  // A scripted ext_proc server may stand in for extproc.
  const extProcPort = options.extProcPort ?? Number(extproc.address.split(':')[1]);
  const nodeId = `devproxy-test-${process.pid}-${++nodes}`;
  const devproxy = startDevproxy({
    xds: `127.0.0.1:${xdsPort}`,
    nodeId,
    log: silentLog,
    bindAddress: () => ({ host: options.bindHost ?? '127.0.0.1', port: 0 }),
    // Other tests' lines would only be noise: dropped unless a test asks for them.
    accessLog: options.accessLog ?? (() => {}),
    ...(options.traceFlushMs !== undefined ? { traceFlushMs: options.traceFlushMs } : {}),
  });
  const stack: Stack = {
    xds,
    xdsAddress: `127.0.0.1:${xdsPort}`,
    extproc,
    devproxy,
    extProcPort,
    nodeId,
    async publish(yaml) {
      const snapshot = compileYaml({ yaml: withGenerousDataPlane(yaml), extProcPort });
      extproc.apply(snapshot.runtime);
      xds.publish(snapshot);
      await waitFor(() => appliedEverywhere(xds, nodeId, snapshot.version), `devproxy to ACK ${snapshot.version}`);
      return snapshot;
    },
    async publishSnapshot(snapshot, outcome) {
      extproc.apply(snapshot.runtime);
      xds.publish(snapshot);
      const nacked = () =>
        Object.values(xds.registry.get(nodeId)?.types ?? {}).some((t) => t.lastNack?.version === snapshot.version);
      await waitFor(
        outcome === 'ack' ? () => appliedEverywhere(xds, nodeId, snapshot.version) : nacked,
        `devproxy to ${outcome} ${snapshot.version}`,
      );
    },
    baseUrl() {
      const first = [...devproxy.proxy.boundListeners().values()][0];
      if (!first) throw new Error('no listener bound');
      return `http://${first.host.includes(':') ? `[${first.host}]` : first.host}:${first.port}`;
    },
    async close() {
      await devproxy.stop();
      await xds.stop();
      await extproc.close();
    },
  };
  return stack;
}

/**
 * Resolves once a request has made it through the whole path of the stack: devproxy's listener, an
 * ext_proc stream to the stack's own extproc, extproc's answer. An ACK or an open port is not that:
 * the first stream opens devproxy's gRPC channel and runs cold code on both sides, which can outlast
 * a 200 ms message_timeout on a loaded machine (a 504). The probe takes a path no route matches, which
 * extproc answers 404 gatehouse.RouteNotFound, so no policy of the test's manifests counts it (a test
 * with a catch-all basePath "/" needs a probe of its own).
 */
export async function pathReady(stack: Pick<Stack, 'baseUrl'>, timeoutMs = 30_000): Promise<void> {
  await eventually(
    'a request through devproxy and extproc (404 gatehouse.RouteNotFound)',
    async () => {
      const reply = await send(`${stack.baseUrl()}/.gatehouse-test/path-ready`);
      if (reply.status === 404 && reply.body.includes('gatehouse.RouteNotFound')) return true;
      throw new Error(`${reply.status} ${reply.body.slice(0, 200)}`);
    },
    timeoutMs,
  );
}

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** An ApiProxy to an echo upstream with the given flows and policies (YAML fragments). */
export function proxyYaml(o: {
  name?: string;
  basePath?: string;
  upstreamPort: number;
  hosts?: string[];
  flows?: string;
  extra?: string;
}): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiProxy
metadata: {name: ${o.name ?? 'api'}, namespace: test}
spec:
  basePath: ${o.basePath ?? '/api'}
  ${o.hosts ? `hosts: ${JSON.stringify(o.hosts)}` : ''}
  target: {url: "http://127.0.0.1:${o.upstreamPort}"}
  ${o.flows ?? ''}
${o.extra ?? ''}`;
}

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** The echo upstream's view of the request, when it answered. */
  echo?: { method: string; path: string; headers: Record<string, string>; body: string };
}

/** One HTTP/1.1 request (node:http, so Host can be set freely). */
export function send(
  url: string,
  o: { method?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: o.method ?? 'GET', headers: o.headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let echo: Reply['echo'];
        if (res.headers['x-upstream'] !== undefined) {
          try {
            echo = JSON.parse(body) as Reply['echo'];
          } catch {
            echo = undefined;
          }
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(echo ? { echo } : {}) });
      });
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

type JsonObject = Record<string, unknown>;

/** The first listener's HttpConnectionManager config in a compiled snapshot (JSON, as served). */
export function hcmOf(snapshot: Snapshot): JsonObject {
  // Tests edit fields the typed resources do not know, so this is read as plain JSON.
  const listener = snapshot.envoy.listeners[0] as unknown as {
    filter_chains: Array<{ filters: Array<{ typed_config: JsonObject }> }>;
  };
  return listener.filter_chains[0]!.filters[0]!.typed_config;
}

/** The first listener's ext_proc filter config in a compiled snapshot. */
export function extProcOf(snapshot: Snapshot): JsonObject {
  const filters = hcmOf(snapshot).http_filters as Array<{ typed_config: JsonObject }>;
  return filters[0]!.typed_config;
}

/**
 * Compiles manifests, lets `edit` change the Envoy resources (fields the compiler does not emit),
 * publishes them under a version of their own and waits for devproxy's ACK or NACK.
 */
export async function publishEdited(
  stack: Stack,
  yaml: string,
  edit: (snapshot: Snapshot) => void,
  outcome: 'ack' | 'nack' = 'ack',
): Promise<Snapshot> {
  const snapshot = compileYaml({ yaml: withGenerousDataPlane(yaml), extProcPort: stack.extProcPort });
  edit(snapshot);
  snapshot.version = `${snapshot.version}-edited-${++edits}`;
  await stack.publishSnapshot(snapshot, outcome);
  return snapshot;
}

let edits = 0;
