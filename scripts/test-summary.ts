// Sums vitest's "Tests  ..." lines from a test log (unit and integration projects run separately) into
// one closing line: "N passed, N failed, N skipped".
import { readFileSync } from 'node:fs';

const ansiColour = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');
const text = readFileSync(process.argv[2]!, 'utf8').replace(ansiColour, '');
const totals = { passed: 0, failed: 0, skipped: 0 };
for (const line of text.split('\n')) {
  const match = /^\s*Tests\s+(.*)\(\d+\)\s*$/.exec(line);
  if (!match) continue;
  for (const part of match[1]!.split('|')) {
    const [, count, kind] = /(\d+)\s+(\w+)/.exec(part) ?? [];
    if (kind === 'passed' || kind === 'failed') totals[kind] += Number(count);
    else if (kind === 'skipped' || kind === 'todo') totals.skipped += Number(count);
  }
}
process.stdout.write(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`);
