// Generated types are checked in and must never be stale: protos/gen/{runtime.ts,gatehouse/} from
// protos/gatehouse/v1 (scripts/gen-protos.ts), protos/gen/envoy from Envoy's ext_proc protos in
// @grpc/grpc-js-xds (scripts/gen-envoy-types.ts), protos/gen/json, the proto3 JSON types of what
// Gatehouse writes (scripts/gen-json-types.ts), and protos/gen/extproc, the static codecs of extproc's
// node:http2 transport (scripts/gen-extproc-codecs.ts).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, expect, it } from 'vitest';

const root = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-gen-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function tree(dir: string, skip: readonly string[] = []): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (skip.includes(p)) continue;
      if (statSync(p).isDirectory()) walk(p);
      else files.set(relative(dir, p), readFileSync(p, 'utf8'));
    }
  };
  walk(dir);
  return files;
}

it.each([
  {
    script: 'scripts/gen-protos.ts',
    dir: 'protos/gen',
    skip: ['protos/gen/envoy', 'protos/gen/json', 'protos/gen/extproc'],
  },
  { script: 'scripts/gen-envoy-types.ts', dir: 'protos/gen/envoy' },
  { script: 'scripts/gen-json-types.ts', dir: 'protos/gen/json' },
  { script: 'scripts/gen-extproc-codecs.ts', dir: 'protos/gen/extproc' },
])('$dir is what $script generates', ({ script, dir, skip = [] }) => {
  const out = join(scratch, script.replace(/\W/g, '_'));
  execFileSync(join(root, 'node_modules/.bin/node'), [join(root, script), out], { stdio: 'pipe' });
  const fresh = tree(out);
  const checkedIn = tree(
    join(root, dir),
    skip.map((s) => join(root, s)),
  );
  expect([...checkedIn.keys()].sort()).toEqual([...fresh.keys()].sort());
  for (const [file, text] of fresh) expect(checkedIn.get(file), file).toBe(text);
});
