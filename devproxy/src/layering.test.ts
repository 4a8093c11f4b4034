// DESIGN 2: devproxy imports neither plane; it reaches them only over xDS and ext_proc, as Envoy would.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;
const root = join(here, '../..');

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('devproxy layering', () => {
  it.each(sources(here).map((f) => relative(here, f)))('%s imports no plane', (file) => {
    const path = join(here, file);
    for (const [, spec] of readFileSync(path, 'utf8').matchAll(/^import\s[^;]*?\sfrom '([^']+)';$/gm)) {
      if (!spec!.startsWith('.')) continue;
      const target = relative(root, join(path, '..', spec!));
      expect(target.startsWith('operator/') || target.startsWith('extproc/'), `${file} imports ${target}`).toBe(false);
    }
  });
});
