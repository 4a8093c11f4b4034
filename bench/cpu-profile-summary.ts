// `node bench/cpu-profile-summary.ts FILE.cpuprofile [N] [--tree PCT] [--folded OUT] [--skip-ms MS]`: a
// text flame summary of a V8 CPU profile (node --cpu-prof; bench:extproc writes them with
// BENCH_CPU_PROF_DIR).
//   - default: the top N frames by self time, with their share of the busy samples ((idle) left out:
//     the server waits for the driver), and where each is (file:line, relative to the repository);
//   - --tree PCT: the call tree by inclusive time, every frame with at least PCT% of the busy samples,
//     indented by depth: a flame graph in text, for notes and reviews;
//   - --folded OUT: the busy samples as folded stacks ("a;b;c count" per line), the input of
//     flamegraph.pl, speedscope or inferno;
//   - --skip-ms MS: drop the samples of the first MS milliseconds (start-up, module compilation and the
//     warm-up), so the figures are the steady state.
import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { tree: { type: 'string' }, folded: { type: 'string' }, 'skip-ms': { type: 'string' } },
});
const [file, top = '15'] = positionals;
if (!file) {
  process.stderr.write(
    'usage: node bench/cpu-profile-summary.ts FILE.cpuprofile [N] [--tree PCT] [--folded OUT] [--skip-ms MS]\n',
  );
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
const root = new URL('..', import.meta.url).href;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

const label = (node: ProfileNode): string => {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(root, '').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
  return `${functionName || '(anonymous)'} ${where}`.trim();
};
const isIdle = (id: number) => byId.get(id)?.callFrame.functionName === '(idle)';

// Samples after the skipped start: timeDeltas are microseconds between consecutive samples.
const skipUs = Number(values['skip-ms'] ?? 0) * 1000;
const hits = new Map<number, number>();
let elapsed = 0;
let busy = 0;
for (let i = 0; i < profile.samples.length; i++) {
  elapsed += profile.timeDeltas[i] ?? 0;
  const id = profile.samples[i]!;
  if (elapsed < skipUs || isIdle(id)) continue;
  hits.set(id, (hits.get(id) ?? 0) + 1);
  busy++;
}
const pct = (n: number) => `${((100 * n) / busy).toFixed(1).padStart(5)}%`;

if (values.folded) {
  const lines: string[] = [];
  for (const [id, n] of hits) {
    const stack: string[] = [];
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const node = byId.get(at)!;
      if (node.callFrame.functionName !== '(root)') stack.push(label(node).replaceAll(';', ','));
    }
    lines.push(`${stack.reverse().join(';')} ${n}`);
  }
  writeFileSync(values.folded, lines.join('\n') + '\n');
}

process.stdout.write(`${profile.samples.length} samples, ${busy} busy${skipUs ? ` after ${skipUs / 1000} ms` : ''}\n`);
if (values.tree !== undefined) {
  const min = (Number(values.tree) / 100) * busy;
  const inclusive = new Map<number, number>();
  const total = (id: number): number => {
    const node = byId.get(id)!;
    let n = hits.get(id) ?? 0;
    for (const c of node.children ?? []) n += total(c);
    inclusive.set(id, n);
    return n;
  };
  const rootNode = profile.nodes.find((n) => !parent.has(n.id))!;
  total(rootNode.id);
  const print = (id: number, depth: number) => {
    const children = (byId.get(id)!.children ?? [])
      .filter((c) => (inclusive.get(c) ?? 0) >= min && !isIdle(c))
      .sort((a, b) => inclusive.get(b)! - inclusive.get(a)!);
    for (const c of children) {
      const self = hits.get(c) ?? 0;
      process.stdout.write(`${pct(inclusive.get(c)!)} ${pct(self)}  ${'  '.repeat(depth)}${label(byId.get(c)!)}\n`);
      print(c, depth + 1);
    }
  };
  process.stdout.write('  total    self  frame\n');
  print(rootNode.id, 0);
} else {
  const self = new Map<string, number>();
  for (const [id, n] of hits) {
    const key = label(byId.get(id)!);
    self.set(key, (self.get(key) ?? 0) + n);
  }
  for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
    process.stdout.write(`${pct(n)}  ${key}\n`);
}
