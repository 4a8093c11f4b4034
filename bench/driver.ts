// The load driver of bench:workers, bench:latency and bench:rss, one of three (BENCH_DRIVER):
//   raw   the default: the Go driver (bench/go-noop-extproc/loaddriver, its own process) with
//         -transport=h2, the exchange's messages marshalled once with go-control-plane's types and
//         written as HTTP/2 frames directly (loaddriver/h2.go); about a tenth of the CPU per request
//         of a server, so on a small machine the driver takes little of the cores the server is
//         measured on;
//   go    the same Go driver with -transport=grpc (grpc-go's client): several times raw's CPU;
//   node  devproxy's ext_proc client in a worker thread of the bench process (bench/load-driver.ts).
// All send the same exchange (x-gatehouse-route metadata; request headers with the request attributes
// source.address and request.id; the buffered JSON body; the upstream's response headers) and report
// the same result, including the driver's own CPU time during the measured phase, so a bench can
// report what its driver cost. `cpus` pins the driver (taskset -c) where the bench lays out cores.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { ensureGoExtprocDriver } from './extproc-go.ts';
import { percentile, processCpuMicros, runWorker } from './load-driver.ts';

export type DriverKind = 'raw' | 'go' | 'node';

/** BENCH_DRIVER (raw, the default, go or node). */
export function driverKind(): DriverKind {
  const kind = process.env.BENCH_DRIVER ?? 'raw';
  if (kind !== 'raw' && kind !== 'go' && kind !== 'node')
    throw new Error(`BENCH_DRIVER=${kind}: expected raw, go or node`);
  return kind;
}

export interface DriveTask {
  address: string;
  route: string;
  /** Streams in flight (closed loop); the cap on streams in flight (open loop). */
  concurrency: number;
  /** HTTP/2 connections the streams are spread over (default 1). */
  connections?: number;
  durationMs: number;
  warmupMs: number;
  /** Closed loop for exactly this many exchanges instead of `durationMs`. */
  requests?: number;
  /** Open loop: exchanges started per second; latency counts from each one's scheduled start. */
  ratePerSecond?: number;
  request: { method: string; path: string; headers: Array<[string, string]>; body: string };
  /** Keep every latency (`latenciesMs`). */
  rawLatencies?: boolean;
  /** A taskset CPU list for the driver, e.g. "1" or "2-3". */
  cpus?: string;
  /** Go drivers (raw, go) only: `onProgress` each time this many more measured exchanges have ended (so far, failed so far). */
  progressEvery?: number;
  onProgress?: (ended: number, failed: number) => void;
}

export interface DriveResult {
  completed: number;
  failed: number;
  statuses: Record<string, number>;
  /** Wall time of the measured phase. */
  elapsedMs: number;
  p50: number;
  p99: number;
  /** The driver's CPU time (user + system) during the measured phase. */
  cpuMs: number;
  latenciesMs?: number[];
  failures?: Record<string, { count: number; first: string }>;
}

/** Runs the driver; `onWarm` runs between the warm-up and the measured phase (sample counters there). */
export function drive(kind: DriverKind, task: DriveTask, onWarm?: () => void | Promise<void>): Promise<DriveResult> {
  return kind === 'node' ? driveNode(task, onWarm) : driveGo(kind === 'raw' ? 'h2' : 'grpc', task, onWarm);
}

/** Whether taskset (util-linux) can pin processes here. */
export function hasTaskset(): boolean {
  return spawnSync('taskset', ['-p', String(process.pid)]).status === 0;
}

/** Pins a process and every thread of it (taskset -a -p -c). */
export function pin(pid: number, cpus: string): void {
  execFileSync('taskset', ['-a', '-p', '-c', cpus, String(pid)], { stdio: 'ignore' });
}

/** A process and its descendants (a primary and its workers). */
export function processTree(pid: number): number[] {
  let children: number[] = [];
  try {
    const text = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    children = text === '' ? [] : text.split(/\s+/).map(Number);
  } catch {
    /* gone */
  }
  return [pid, ...children.flatMap(processTree)];
}

/** CPU time used so far by each process, microseconds (0 for one that is gone). */
export function cpuMicrosOf(pids: number[]): number[] {
  return pids.map((pid) => {
    try {
      return processCpuMicros(pid, readFileSync(`/proc/${pid}/stat`, 'utf8'));
    } catch {
      return 0;
    }
  });
}

async function driveGo(
  transport: 'grpc' | 'h2',
  task: DriveTask,
  onWarm?: () => void | Promise<void>,
): Promise<DriveResult> {
  const binary = ensureGoExtprocDriver((line) => process.stderr.write(`${line}\n`));
  const args = [
    `-transport=${transport}`,
    `-addr=${task.address}`,
    `-route=${task.route}`,
    `-method=${task.request.method}`,
    `-path=${task.request.path}`,
    `-body=${task.request.body}`,
    ...task.request.headers.map(([k, v]) => `-header=${k}:${v}`),
    `-streams=${task.concurrency}`,
    `-conns=${task.connections ?? 1}`,
    `-duration=${task.durationMs}ms`,
    `-warmup=${task.warmupMs}ms`,
    ...(task.requests !== undefined ? [`-requests=${task.requests}`] : []),
    ...(task.ratePerSecond !== undefined ? [`-rate=${task.ratePerSecond}`] : []),
    ...(task.rawLatencies ? ['-raw'] : []),
    ...(task.progressEvery ? [`-progress=${task.progressEvery}`] : []),
    ...(onWarm ? ['-hold'] : []),
    '-owned',
  ];
  const [command, argv] = task.cpus ? ['taskset', ['-c', task.cpus, binary, ...args]] : [binary, args];
  // One P unless GOMAXPROCS says otherwise: idle Ps spin looking for work, which costs the driver CPU the
  // server could use (about a quarter more per request on 2 cores), and one core drives tens of
  // thousands of streams per second, well past one server's.
  const env = { ...process.env, GOMAXPROCS: process.env.GOMAXPROCS ?? '1' };
  const child = spawn(command, argv, { stdio: ['pipe', 'pipe', 'inherit'], env });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  let json: string | undefined;
  let failure: Error | undefined;
  for await (const line of createInterface({ input: child.stdout })) {
    if (line === 'warm') {
      try {
        await onWarm?.();
        child.stdin.write('go\n');
      } catch (err) {
        failure = err as Error;
        child.kill('SIGKILL');
      }
    } else if (line.startsWith('progress ')) {
      const [ended, failed] = line.split(' ').slice(1).map(Number);
      task.onProgress?.(ended!, failed!);
    } else if (line.startsWith('{')) json = line;
  }
  const code = await exited;
  if (failure) throw failure;
  if (code !== 0 || json === undefined) throw new Error(`the Go load driver exited ${code} without a result`);
  const r = JSON.parse(json) as {
    completed: number;
    failed: number;
    statuses: Record<string, number>;
    elapsedMs: number;
    latencyMs: { p50: number; p99: number };
    latenciesMs?: number[];
    cpuMs: number;
    failures?: Record<string, { count: number; first: string }>;
  };
  return {
    completed: r.completed,
    failed: r.failed,
    statuses: r.statuses,
    elapsedMs: r.elapsedMs,
    p50: r.latencyMs.p50,
    p99: r.latencyMs.p99,
    cpuMs: r.cpuMs,
    ...(r.latenciesMs ? { latenciesMs: r.latenciesMs } : {}),
    ...(r.failures ? { failures: r.failures } : {}),
  };
}

/**
 * The Node driver runs in a worker thread of this process: its CPU is this process's (the main thread
 * only waits meanwhile), and `cpus` pins this whole process from then on.
 */
async function driveNode(task: DriveTask, onWarm?: () => void | Promise<void>): Promise<DriveResult> {
  if (task.progressEvery) throw new Error('progressEvery: the Go drivers (raw, go) only');
  if (task.cpus) pin(process.pid, task.cpus);
  let cpuStart: NodeJS.CpuUsage | undefined;
  const r = await runWorker(
    {
      address: task.address,
      route: task.route,
      concurrency: task.concurrency,
      durationMs: task.durationMs,
      warmupMs: task.warmupMs,
      holdAfterWarmup: true,
      ...(task.connections !== undefined ? { connections: task.connections } : {}),
      ...(task.requests !== undefined ? { requests: task.requests } : {}),
      ...(task.ratePerSecond !== undefined ? { ratePerSecond: task.ratePerSecond } : {}),
      request: task.request,
    },
    async () => {
      await onWarm?.();
      cpuStart = process.cpuUsage();
    },
  );
  const cpu = process.cpuUsage(cpuStart);
  const sorted = r.latenciesMs.sort((a, b) => a - b);
  return {
    completed: r.completed,
    failed: r.failed,
    statuses: r.statuses,
    elapsedMs: r.elapsedMs,
    p50: percentile(sorted, 50),
    p99: percentile(sorted, 99),
    cpuMs: (cpu.user + cpu.system) / 1000,
    ...(task.rawLatencies ? { latenciesMs: sorted } : {}),
    ...(r.failures ? { failures: r.failures } : {}),
  };
}
