// DESIGN 2's dependency rule for the compiler: it imports only operator/src/api, protos/ and the
// error base, and no module that does I/O, talks to Kubernetes or serves xDS. envoy-proto.ts (it
// reads Envoy's .proto files) is the one exception: a verifier for tests and the xDS server, never
// imported by compile itself.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

const here = import.meta.dirname;
const allowed = [/^\.\.?\//, /^node:(crypto|net)$/, /^re2js$/];
const allowedPaths = ['operator/src/compile', 'operator/src/api', 'protos', 'lib/errors.ts'];

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'testdata' ? [] : sources(path);
    return e.name.endsWith('.ts') && !e.name.endsWith('.test.ts') && e.name !== 'envoy-proto.ts' ? [path] : [];
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
