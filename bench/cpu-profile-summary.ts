// `node bench/cpu-profile-summary.ts FILE.cpuprofile [N]`: a text flame summary of a V8 CPU profile
// (node --cpu-prof; bench:extproc writes them with BENCH_CPU_PROF_DIR): the top N frames by self
// time, with their share of the busy samples ((idle) left out: the server waits for the driver), and
// where each is (file:line, relative to the repository).
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

const [file, top = '15'] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: node bench/cpu-profile-summary.ts FILE.cpuprofile [N]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as { nodes: ProfileNode[]; samples: number[] };
const root = new URL('..', import.meta.url).href;
const hits = new Map<number, number>();
for (const id of profile.samples) hits.set(id, (hits.get(id) ?? 0) + 1);
const self = new Map<string, number>();
for (const node of profile.nodes) {
  const { functionName, url, lineNumber } = node.callFrame;
  const where = url ? `${url.replace(root, '').replace(/^file:\/\//, '')}:${lineNumber + 1}` : '';
  const key = `${functionName || '(anonymous)'} ${where}`.trim();
  self.set(key, (self.get(key) ?? 0) + (hits.get(node.id) ?? 0));
}
const idle = self.get('(idle)') ?? 0;
self.delete('(idle)');
const total = profile.samples.length - idle;
process.stdout.write(`${profile.samples.length} samples, ${total} busy\n`);
for (const [key, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, Number(top)))
  process.stdout.write(`${((100 * n) / total).toFixed(1).padStart(5)}%  ${key}\n`);
