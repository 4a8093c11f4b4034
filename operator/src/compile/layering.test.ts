// DESIGN 2's dependency rule for the compiler, with no exceptions: it imports only operator/src/api,
// the generated types and policy schemas of protos/ (protos/gen, protos/policies), the error base,
// and pure modules (node:crypto, isIP from node:net, re2js); never a module that does I/O, talks to
// Kubernetes or serves xDS. Envoy's .proto files are read by the codec in operator/src/xds, not here.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;
const allowed = [/^\.\.?\//, /^node:(crypto|net)$/, /^re2js$/];
const allowedPaths = ['operator/src/compile/', 'operator/src/api/', 'protos/gen/', 'protos/policies/', 'lib/errors.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testdata' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') ? [path] : [];
  });
}

describe('operator/src/compile layering', () => {
  it.each(sources(here).map((f) => relative(here, f)))('%s imports only api, protos and pure modules', (file) => {
    const path = join(here, file);
    const specifiers = [...readFileSync(path, 'utf8').matchAll(/^import\s[^;]*?\sfrom '([^']+)';$/gm)].map(
      (m) => m[1]!,
    );
    for (const spec of specifiers) {
      expect(
        allowed.some((re) => re.test(spec)),
        `${file} imports ${spec}`,
      ).toBe(true);
      if (spec.startsWith('.')) {
        const target = relative(join(here, '../../..'), join(path, '..', spec));
        expect(
          allowedPaths.some((p) => target.startsWith(p)),
          `${file} imports ${target}`,
        ).toBe(true);
      }
    }
  });
});
