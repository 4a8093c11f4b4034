// `npm run bench:extproc-framework`: the CPU the ext_proc stream state machine and the flow engine
// spend per stream, without sockets: ProcessingStream (server/stream.ts) driven by an in-process call
// with bench:extproc's three messages (request headers, a buffered JSON body, response headers),
// decoded and encoded with the http2 transport's codecs, on the empty flow and the typical chain
// (bench/typical-chain.ts). process.cpuUsage() around BENCH_REQUESTS streams, 16 in flight, after a
// warm-up. What bench:extproc measures minus HTTP/2 and gRPC framing: the framework's own work
// (docs/architecture.md#the-hot-path), steadier on a loaded machine. Compare two trees in one session.
// BENCH_ALLOC_PROFILE=N: sample the allocations of the measured phase too (V8's sampling heap profiler,
// every 512 bytes, garbage included) and print the N sites that allocate most, in bytes per stream.
import { Session } from 'node:inspector/promises';
import { pino } from 'pino';
import { envoy } from '../protos/gen/extproc/codecs.js';
import { SnapshotStore } from '../extproc/src/config/snapshot-store.ts';
import type { ProcessingResponse } from '../extproc/src/server/envoy-proto.ts';
import { processCodec } from '../extproc/src/server/http2-transport.ts';
import { BodyBudget, DEFAULT_STREAM_LIMITS } from '../extproc/src/server/limits.ts';
import { ExtprocMetrics } from '../extproc/src/server/metrics.ts';
import { ProcessingStream, ROUTE_METADATA, type StreamDeps } from '../extproc/src/server/stream.ts';
import type { ProcessCall, ProcessSink } from '../extproc/src/server/transport.ts';
import { buildSnapshot } from '../extproc/src/server/test-server.test-support.ts';
import { createMemoryStores } from '../extproc/src/stores/memory.ts';
import { BENCH_API_KEY, typicalChainSnapshot, TYPICAL_CHAIN_BODY } from './typical-chain.ts';

const REQUESTS = Number(process.env.BENCH_REQUESTS ?? 30_000);
const WARMUP = Number(process.env.BENCH_WARMUP_REQUESTS ?? 5_000);
const IN_FLIGHT = 16;
const Request = envoy.service.ext_proc.v3.ProcessingRequest;

const body = TYPICAL_CHAIN_BODY;
const headers = (pairs: Array<[string, string]>) => ({
  headers: pairs.map(([key, value]) => ({ key, rawValue: Buffer.from(value, 'latin1') })),
});
const encode = (message: object) => Request.encode(Request.fromObject(message)).finish();

/** bench:extproc's three messages for a route, as Envoy (devproxy) sends them. */
function messages(route: string): Uint8Array[] {
  const requestId = 'c0ffee00-1234-4567-89ab-0123456789ab';
  return [
    encode({
      requestHeaders: {
        headers: headers([
          [':method', 'POST'],
          [':path', `/${route.split('/')[1]}/orders`],
          [':scheme', 'http'],
          [':authority', 'localhost'],
          ['content-type', 'application/json'],
          ['x-api-key', BENCH_API_KEY],
          ['content-length', String(body.length)],
          ['x-request-id', requestId],
        ]),
        endOfStream: false,
      },
      attributes: {
        'envoy.filters.http.ext_proc': {
          fields: {
            'source.address': { stringValue: '127.0.0.1:5555' },
            'request.id': { stringValue: requestId },
            'xds.route_name': { stringValue: route },
          },
        },
      },
    }),
    encode({ requestBody: { body: Buffer.from(body), endOfStream: true } }),
    encode({
      responseHeaders: {
        headers: headers([
          [':status', '200'],
          ['content-type', 'application/json'],
          ['content-length', '2'],
        ]),
        endOfStream: false,
      },
    }),
  ];
}

const store = new SnapshotStore();
store.apply(buildSnapshot(typicalChainSnapshot()));
const stores = createMemoryStores();
const deps: StreamDeps = {
  snapshots: store,
  stores,
  log: pino({ level: 'silent' }),
  metrics: new ExtprocMetrics(),
  limits: DEFAULT_STREAM_LIMITS,
  bodyBudget: new BodyBudget(DEFAULT_STREAM_LIMITS.maxBufferedBodyBytes),
  pool: undefined,
  offload: { minBytes: 1 << 20, budgetMs: 50 },
  streams: { active: 0 },
  now: Date.now,
};

/** The ProcessCall surface stream.ts uses; replies are encoded (as the http2 transport does) and counted. */
class InProcessCall implements ProcessCall {
  readonly metadata: { get(key: string): string[] };
  sink: ProcessSink | undefined;
  private readonly done: () => void;
  private replies = 0;
  constructor(route: string, done: () => void) {
    this.done = done;
    this.metadata = { get: (key) => (key === ROUTE_METADATA ? [route] : []) };
  }
  listen(sink: ProcessSink): void {
    this.sink = sink;
  }
  write(reply: ProcessingResponse): boolean {
    processCodec.encode(reply);
    if (reply.immediateResponse) throw new Error(`unexpected immediate response ${JSON.stringify(reply)}`);
    if (++this.replies === 3) queueMicrotask(() => this.sink!.halfClosed());
    return true;
  }
  end(): void {
    this.done();
  }
  sendStatus(code: number, details: string): void {
    throw new Error(`unexpected status ${code} ${details}`);
  }
}

async function stream(route: string, frames: Uint8Array[]): Promise<void> {
  let done!: () => void;
  const finished = new Promise<void>((resolve) => (done = resolve));
  const call = new InProcessCall(route, done);
  new ProcessingStream(call, deps);
  for (const frame of frames) {
    call.sink!.message(processCodec.decode(frame));
    await new Promise((resolve) => setImmediate(resolve));
  }
  await finished;
}

async function streams(route: string, frames: Uint8Array[], n: number): Promise<void> {
  for (let i = 0; i < n; i += IN_FLIGHT)
    await Promise.all(Array.from({ length: IN_FLIGHT }, () => stream(route, frames)));
}

process.stdout.write(
  `ext_proc framework bench: CPU per stream (process.cpuUsage) over ${REQUESTS} streams, ${IN_FLIGHT} in flight, in process (no sockets)\n`,
);
const ALLOC_TOP = Number(process.env.BENCH_ALLOC_PROFILE ?? 0);
const session = ALLOC_TOP > 0 ? new Session() : undefined;
session?.connect();

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: HeapNode[];
}

/**
 * The sampled allocations by site (function, file:line), bytes per stream, the top N. A site outside
 * the repository (a builtin, node:, a dependency) names the nearest repository frame that called it.
 */
function allocationSites(head: HeapNode, n: number): string {
  const root = new URL('..', import.meta.url).href;
  const bySite = new Map<string, number>();
  let total = 0;
  const where = ({ functionName, url, lineNumber }: HeapNode['callFrame']) =>
    `${functionName || '(anonymous)'} ${url.replace(root, '').replace(/^file:\/\//, '')}:${lineNumber + 1}`;
  const ours = (url: string) => url.startsWith(root) && !url.includes('/node_modules/');
  const walk = (node: HeapNode, caller: string | undefined) => {
    const site = where(node.callFrame);
    const here = ours(node.callFrame.url) ? site : caller;
    const name = ours(node.callFrame.url) || caller === undefined ? site : `${site} (via ${caller})`;
    if (node.selfSize > 0) bySite.set(name, (bySite.get(name) ?? 0) + node.selfSize);
    total += node.selfSize;
    for (const child of node.children) walk(child, here);
  };
  walk(head, undefined);
  const lines = [...bySite]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([site, bytes]) => `  ${(bytes / REQUESTS).toFixed(0).padStart(6)} B  ${site}`);
  return `  ${(total / REQUESTS).toFixed(0).padStart(6)} B/stream sampled in all\n${lines.join('\n')}\n`;
}

for (const route of ['bench/empty', 'bench/chain']) {
  const frames = messages(route);
  await streams(route, frames, WARMUP);
  await session?.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const before = process.cpuUsage();
  await streams(route, frames, REQUESTS);
  const used = process.cpuUsage(before);
  process.stdout.write(
    `${route.padEnd(12)} ${((used.user + used.system) / REQUESTS).toFixed(1).padStart(6)} us/stream\n`,
  );
  if (session) {
    const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as {
      profile: { head: HeapNode };
    };
    process.stdout.write(allocationSites(profile.head, ALLOC_TOP));
  }
}
session?.disconnect();
await stores.close();
