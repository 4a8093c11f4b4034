// Generates TypeScript types for protos/gatehouse/v1 and protos/apigee (Apigee's ExternalCallout
// contract) into protos/gen (checked in; a test fails when stale). proto-loader-gen-types writes extensionless relative imports; Node's type stripping and
// `moduleResolution: nodenext` need explicit `.ts`, so they are rewritten here.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const outDir = process.argv[2] ?? join(root, 'protos/gen');
const protoFiles = readdirSync(join(root, 'protos/gatehouse/v1'))
  .filter((f) => f.endsWith('.proto'))
  .map((f) => `gatehouse/v1/${f}`);
const apigeeFiles = readdirSync(join(root, 'protos/apigee'))
  .filter((f) => f.endsWith('.proto'))
  .map((f) => `apigee/${f}`);

// protos/gen/envoy and protos/gen/json belong to gen-envoy-types.ts and gen-json-types.ts: remove
// only what this script writes.
rmSync(join(outDir, 'gatehouse'), { recursive: true, force: true });
rmSync(join(outDir, 'runtime.ts'), { force: true });
rmSync(join(outDir, 'apigee'), { recursive: true, force: true });
rmSync(join(outDir, 'external_callout.ts'), { force: true });
execFileSync(
  join(root, 'node_modules/.bin/proto-loader-gen-types'),
  [
    '--longs',
    'String',
    '--enums',
    'String',
    '--defaults',
    '--oneofs',
    '--includeComments',
    '--grpcLib',
    '@grpc/grpc-js',
    '-I',
    join(root, 'protos'),
    '-O',
    outDir,
    ...protoFiles,
    ...apigeeFiles,
  ],
  { stdio: 'inherit' },
);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
for (const file of [
  // One top-level index per .proto file (runtime.ts, debug.ts, external_callout.ts).
  ...[...protoFiles, ...apigeeFiles].map((f) => join(outDir, `${basename(f, '.proto')}.ts`)),
  ...walk(join(outDir, 'gatehouse')),
  ...walk(join(outDir, 'apigee')),
]) {
  if (!file.endsWith('.ts')) continue;
  const text = readFileSync(file, 'utf8')
    .replace(/^\/\/ Original file: .*$/gm, (line) => line.replace(root, ''))
    .replace(/from '(\.{1,2}\/[^']+?)'/g, "from '$1.ts'");
  writeFileSync(file, text);
}
