// `npm run bench:compile`: compile time (median of runs) and peak RSS for 1,000 proxies, 5,000
// policies and 10,000 apps (docs/architecture.md#tests-and-quality-bars). Target: < 1 s and < 300 MB on one core. Compile is
// single-threaded, so its CPU time is the one-core figure; wall time is shown beside it because a
// busy machine inflates it. Peak RSS is taken in a fresh process that compiles once (what the
// operator pays per rebuild) and in this one after every run (garbage the GC had not yet returned).
import { execFileSync } from 'node:child_process';
import { compile } from '../operator/src/compile/compile.ts';
import { buildFixture } from './compile-fixture.ts';

const size = { proxies: 1000, apps: 10_000 };
const mb = (kb: number) => Math.round(kb / 1024);

if (process.argv.includes('--once')) {
  compile(buildFixture(size), { credentialHashKey: 'bench' });
  process.stdout.write(String(process.resourceUsage().maxRSS));
  process.exit(0);
}

const runs = Number(process.env.BENCH_RUNS ?? 7);
const objects = buildFixture(size);
const cpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};
const median = (xs: number[]) => {
  const m = [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  if (m === undefined) throw new Error('no runs to take a median of: BENCH_RUNS must be at least 1');
  return m;
};

compile(objects, { credentialHashKey: 'bench' }); // warm-up: JIT, ajv's compiled validators
const cpu: number[] = [];
const wall: number[] = [];
let result: ReturnType<typeof compile> | undefined;
for (let i = 0; i < runs; i++) {
  const [c0, w0] = [cpuMs(), performance.now()];
  result = compile(objects, { credentialHashKey: 'bench' });
  cpu.push(cpuMs() - c0);
  wall.push(performance.now() - w0);
}
if (result!.errors.length > 0) throw new Error(`the fixture has errors: ${result!.errors[0]!.message}`);
const onceRssKb = Number(execFileSync(process.execPath, [import.meta.filename, '--once'], { encoding: 'utf8' }));
const loopRssKb = process.resourceUsage().maxRSS;
const kinds = (kind: string) => objects.filter((o) => (o.object as { kind: string }).kind === kind).length;

process.stdout.write(
  [
    `compile: ${kinds('ApiProxy')} proxies, ${kinds('ApiPolicy')} policies, ${kinds('DeveloperApp')} apps, ${objects.length} objects; ${runs} runs after a warm-up`,
    `  CPU time:  median ${median(cpu).toFixed(0)} ms, min ${Math.min(...cpu).toFixed(0)} ms   (target < 1000 ms on one core)`,
    `  wall time: median ${median(wall).toFixed(0)} ms, min ${Math.min(...wall).toFixed(0)} ms`,
    `  peak RSS:  ${mb(onceRssKb)} MB for one compile in a fresh process (target < 300 MB); ${mb(loopRssKb)} MB after ${runs + 1} compiles in one process`,
    `  snapshot:  ${(JSON.stringify(result!.snapshot).length / 1e6).toFixed(1)} MB of JSON, version ${result!.snapshot.version.slice(0, 12)}`,
    '',
  ].join('\n'),
);
process.stdout.write(
  `${JSON.stringify({
    bench: 'compile',
    runs,
    cpuMedianMs: Math.round(median(cpu)),
    wallMedianMs: Math.round(median(wall)),
    peakRssMbOneCompile: mb(onceRssKb),
    peakRssMbAllRuns: mb(loopRssKb),
  })}\n`,
);
