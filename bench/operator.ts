// `npm run bench:operator`: the operator in kube mode against the real test control plane (e2e/env).
// 1,000 ApiProxies (with 5,000 ApiPolicies and 100 ApiProducts) and 10,000 DeveloperApps (with their 10,000 credential
// Secrets) are created through the apiserver while `gatehouse operator --kubeconfig` runs as a child
// process under the chart's restricted identity. Reported:
//   - time from the first create until every ApiProxy and DeveloperApp has Programmed=True for its generation;
//   - the operator's peak RSS (VmHWM);
//   - apply-to-ACK propagation afterwards: one ApiProxy changed at a time, timed from the PATCH until
//     two subscribed data-plane nodes (raw ADS clients that ACK as extproc does) run the new version.
// BENCH_PROXIES, BENCH_APPS and BENCH_CHANGES scale it down for a quick look. The operator's RSS is
// sampled every 250 ms and its peak reported per phase (synced empty, creating, until Programmed,
// changes). BENCH_HEAP_DIR=dir writes a heap snapshot of the operator there once everything is
// Programmed (after the peak RSS is read: writing one costs memory), for Chrome DevTools' Memory tab;
// BENCH_CPU_PROF_DIR=dir profiles the operator's CPU over the whole run (bench/cpu-profile-summary.ts);
// BENCH_OPERATOR_NODE_FLAGS passes Node flags to the operator (the heap sizes the chart derives from a
// container limit: operator.nodeOptions).
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { loadavg } from 'node:os';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createServer } from 'node:net';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { ackingNode, credentialKeySecret, pathOf, type Obj } from '../e2e/operator/kube.ts';
import { ENV, startTestEnv } from '../e2e/env/env.ts';
import { withoutBookkeeping } from '../operator/src/kube/informer.ts';
import { KubeRest } from '../operator/src/kube/rest.ts';
import { buildFixture } from './compile-fixture.ts';

const proxies = Number(process.env.BENCH_PROXIES ?? 1000);
const apps = Number(process.env.BENCH_APPS ?? 10_000);
const changes = Number(process.env.BENCH_CHANGES ?? 50);
const heapDir = process.env.BENCH_HEAP_DIR;
const cpuProfDir = process.env.BENCH_CPU_PROF_DIR;
// Node flags of the operator, e.g. "--max-old-space-size=384": what a container memory limit makes V8 do.
const operatorFlags = (process.env.BENCH_OPERATOR_NODE_FLAGS ?? '').split(/\s+/).filter(Boolean);
const concurrency = 16;
const root = new URL('..', import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

const kubeconfig = (file: string) => {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
};

async function inParallel<T>(items: T[], limit: number, work: (item: T) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;

const env = await startTestEnv((line) => process.stderr.write(`[testenv] ${line}\n`));
const children: ReturnType<typeof spawn>[] = [];
const nodes: { close(): void }[] = [];
try {
  const admin = new KubeRest(kubeconfig(env.vars[ENV.adminKubeconfig]!), { userAgent: 'bench' });
  const objects = buildFixture({ proxies, apps }).map((o) => o.object as Obj);
  for (const o of objects) {
    if (o.kind === 'Secret') o.metadata.labels = { 'gatehouse.dev/credential': 'true' };
  }
  const namespaces = [...new Set(objects.map((o) => o.metadata.namespace!)), 'gatehouse-system'];
  for (const name of namespaces)
    await admin.create('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // Without a credential hash key a kube-mode operator refuses to start.
  const keySecret = credentialKeySecret('gatehouse-system');
  await admin.create(pathOf('Secret', 'gatehouse-system'), keySecret);

  const [xdsPort, metricsPort] = [await freePort(), await freePort()];
  const operator = spawn(
    join(root, 'node_modules/.bin/node'),
    [
      ...(heapDir ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapDir}`] : []),
      ...(cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : []),
      ...operatorFlags,
      join(root, 'bin/gatehouse.js'),
      'operator',
      '--kubeconfig',
      env.vars[ENV.operatorKubeconfig]!,
      '--operator-namespace',
      'gatehouse-system',
      '--manage-dataplanes',
      'false',
      '--xds-port',
      String(xdsPort),
      '--metrics-port',
      String(metricsPort),
    ],
    {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_LOG_LEVEL ?? 'error' },
    },
  );
  children.push(operator);
  // VmRSS every 250 ms, the peak per phase (VmHWM below is the whole run's).
  const rssMb = () => {
    try {
      return Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${operator.pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  let phase = 'start';
  const phasePeaks: Record<string, number> = {};
  const sampler = setInterval(() => {
    phasePeaks[phase] = Math.max(phasePeaks[phase] ?? 0, Math.round(rssMb()));
  }, 250);
  sampler.unref();
  // The V8 heap beside RSS (the operator's /metrics, prom-client's process metrics), every 2 s.
  const heapPeaks: Record<string, { totalMb: number; usedMb: number }> = {};
  const heapOf = async () => {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then(
      (r) => r.text(),
      () => '',
    );
    const value = (name: string) => Number(new RegExp(`^${name} (\\S+)`, 'm').exec(text)?.[1] ?? 0) / 2 ** 20;
    return {
      totalMb: Math.round(value('nodejs_heap_size_total_bytes')),
      usedMb: Math.round(value('nodejs_heap_size_used_bytes')),
      externalMb: Math.round(value('nodejs_external_memory_bytes')),
    };
  };
  const heapSampler = setInterval(() => {
    const at = phase;
    void heapOf().then((h) => {
      const peak = (heapPeaks[at] ??= { totalMb: 0, usedMb: 0 });
      peak.totalMb = Math.max(peak.totalMb, h.totalMb);
      peak.usedMb = Math.max(peak.usedMb, h.usedMb);
    });
  }, 2_000);
  heapSampler.unref();
  for (let i = 0; ; i++) {
    if (
      await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (i > 600) throw new Error('the operator did not become ready');
    await sleep(100);
  }
  for (let i = 0; i < 2; i++)
    // A cluster naming no DataPlane: with none in the cluster, the nodes get the one (default) view.
    nodes.push(ackingNode(`127.0.0.1:${xdsPort}`, `extproc-${i}`, `bench-extproc`));

  phase = 'create';
  const started = performance.now();
  // Secrets and ApiPolicies first, so most objects are accepted on their first compile.
  const order = ['Secret', 'ApiPolicy', 'ApiProxy', 'ApiProduct', 'DeveloperApp'];
  objects.sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
  await inParallel(objects, concurrency, (o) => admin.create(pathOf(o.kind, o.metadata.namespace), o));
  const createdMs = performance.now() - started;
  process.stderr.write(`created ${objects.length} objects in ${(createdMs / 1000).toFixed(1)} s\n`);
  phase = 'untilProgrammed';

  const programmed = async (resource: string) => {
    const list = await admin.list<Obj>(`/apis/gatehouse.dev/v1alpha1/${resource}`);
    return list.items.filter(
      (o) =>
        o.status?.observedGeneration === o.metadata.generation &&
        o.status?.conditions?.some((c) => c.type === 'Programmed' && c.status === 'True'),
    ).length;
  };
  for (;;) {
    const [p, a] = [await programmed('apiproxies'), await programmed('developerapps')];
    if (p === proxies && a === apps) break;
    process.stderr.write(`programmed: ${p}/${proxies} proxies, ${a}/${apps} apps\n`);
    await sleep(2_000);
  }
  const allProgrammedMs = performance.now() - started;
  phase = 'changes';

  // What the informer caches hold per object: the apiserver's JSON as listed, and the V8 heap of the
  // objects after the informers' transform (parsed here, in this process, between two full GCs).
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const cachePerObject: Record<string, { objects: number; jsonBytes: number; heapBytes: number }> = {};
  // Everything measured stays reachable until all kinds are measured, so no GC in between frees it.
  const measured: unknown[] = [];
  for (const [kind, path, query] of [
    ['ApiProxy', '/apis/gatehouse.dev/v1alpha1/apiproxies', {}],
    ['ApiPolicy', '/apis/gatehouse.dev/v1alpha1/apipolicies', {}],
    ['ApiProduct', '/apis/gatehouse.dev/v1alpha1/apiproducts', {}],
    ['DeveloperApp', '/apis/gatehouse.dev/v1alpha1/developerapps', {}],
    ['Secret', '/api/v1/secrets', { labelSelector: 'gatehouse.dev/credential=true' }],
  ] as const) {
    const texts = (await admin.list<Obj>(path, query)).items.map((o) => JSON.stringify(o));
    gc();
    gc();
    const before = process.memoryUsage().heapUsed;
    const cached = texts.map((t) => withoutBookkeeping(JSON.parse(t) as Obj));
    gc();
    gc();
    const heap = process.memoryUsage().heapUsed - before;
    measured.push(texts, cached);
    cachePerObject[kind] = {
      objects: cached.length,
      jsonBytes: Math.round(texts.reduce((sum, t) => sum + t.length, 0) / Math.max(1, texts.length)),
      heapBytes: Math.round(heap / Math.max(1, cached.length)),
    };
  }
  measured.length = 0;

  const debug = async () =>
    (await fetch(`http://127.0.0.1:${metricsPort}/debug/nodes`)).json() as Promise<{
      version: string;
      nodes: { id: string; syncedVersion?: string }[];
    }>;
  // The operator's CPU time and its compiles over the changes: load-independent where latency is not.
  const cpuMs = () => {
    const fields = readFileSync(`/proc/${operator.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
  };
  const compiles = async () => {
    const text = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text());
    const value = (suffix: string) =>
      Number(
        new RegExp(`^gatehouse_operator_compile_duration_seconds_${suffix}\\{result="ok"\\} (\\S+)`, 'm').exec(
          text,
        )?.[1] ?? 0,
      );
    return { count: value('count'), seconds: value('sum') };
  };
  const [cpuBefore, compilesBefore] = [cpuMs(), await compiles()];
  const latencies: number[] = [];
  for (let n = 0; n < changes; n++) {
    const before = (await debug()).version;
    const t0 = performance.now();
    await admin.mergePatch(pathOf('ApiProxy', 'team-0', 'api-0'), {
      spec: { target: { timeout: `${10 + (n % 50)}s` } },
    });
    for (;;) {
      const d = await debug();
      if (d.version !== before && d.nodes.length === 2 && d.nodes.every((x) => x.syncedVersion === d.version)) break;
      if (performance.now() - t0 > 60_000) throw new Error(`change ${n} did not reach both nodes within 60 s`);
      await sleep(5);
    }
    latencies.push(performance.now() - t0);
  }
  latencies.sort((x, y) => x - y);
  const [cpuAfter, compilesAfter] = [cpuMs(), await compiles()];
  const perChange = {
    operatorCpuMsPerChange: Math.round((cpuAfter - cpuBefore) / Math.max(1, changes)),
    compiles: compilesAfter.count - compilesBefore.count,
    compileMsMean: Math.round(
      ((compilesAfter.seconds - compilesBefore.seconds) * 1000) /
        Math.max(1, compilesAfter.count - compilesBefore.count),
    ),
  };
  clearInterval(sampler);
  clearInterval(heapSampler);
  const status = readFileSync(`/proc/${operator.pid}/status`, 'utf8');
  const peakRssMb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) / 1024;
  const settledRssMb = Math.round(rssMb());
  const settledHeap = await heapOf();
  let heapSnapshot: string | undefined;
  if (heapDir) {
    const before = new Set(existsSync(heapDir) ? readdirSync(heapDir) : []);
    operator.kill('SIGUSR2');
    // Written synchronously by the operator: done once the file stops growing and /readyz answers again.
    for (let last = -1; ;) {
      await sleep(1_000);
      const file = readdirSync(heapDir).find((f) => f.endsWith('.heapsnapshot') && !before.has(f));
      const size = file ? statSync(join(heapDir, file)).size : -1;
      const ready = await fetch(`http://127.0.0.1:${metricsPort}/readyz`).then(
        (r) => r.ok,
        () => false,
      );
      if (file && size > 0 && size === last && ready) {
        heapSnapshot = join(heapDir, file);
        break;
      }
      last = size;
    }
  }

  const result = {
    objects: objects.length,
    proxies,
    apps,
    createSeconds: +(createdMs / 1000).toFixed(1),
    allProgrammedSeconds: +(allProgrammedMs / 1000).toFixed(1),
    operatorPeakRssMb: Math.round(peakRssMb),
    operatorRssMbByPhase: phasePeaks,
    operatorHeapMbByPhase: heapPeaks,
    cachePerObject,
    operatorSettledRssMb: settledRssMb,
    operatorSettledHeapMb: settledHeap,
    load: loadavg().map((l) => +l.toFixed(2)),
    operatorNodeFlags: operatorFlags,
    heapSnapshot,
    propagation:
      changes > 0
        ? {
            changes,
            p50Ms: Math.round(percentile(latencies, 50)),
            p99Ms: Math.round(percentile(latencies, 99)),
            maxMs: Math.round(latencies.at(-1)!),
            ...perChange,
          }
        : undefined,
  };
  process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
} finally {
  for (const n of nodes) n.close();
  // Waited for: --cpu-prof writes its profile as the process exits.
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const timer = setTimeout(() => (c.kill('SIGKILL'), resolve()), 30_000);
          c.once('exit', () => (clearTimeout(timer), resolve()));
          c.kill('SIGTERM');
        }),
    ),
  );
  await env.stop();
}
