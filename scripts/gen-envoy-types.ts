// Generates TypeScript types for Envoy's ext_proc and ADS services (shared by extproc, devproxy, the
// xDS server and the e2e driver) into protos/gen/envoy (checked in; a test fails when stale). The protos themselves stay in @grpc/grpc-js-xds's deps/ folder (docs/architecture.md#layout-and-dependency-rules).
// As in gen-protos.ts, relative imports get explicit `.ts`; the rules generated code breaks are disabled per file.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { envoyProtoDirs } from '../protos/envoy.ts';

const root = new URL('..', import.meta.url).pathname;
const outDir = process.argv[2] ?? join(root, 'protos/gen/envoy');
const deps = dirname(envoyProtoDirs[0]!);

rmSync(outDir, { recursive: true, force: true });
execFileSync(
  join(root, 'node_modules/.bin/proto-loader-gen-types'),
  [
    '--longs',
    'String',
    '--enums',
    'String',
    '--defaults',
    '--oneofs',
    '--grpcLib',
    '@grpc/grpc-js',
    ...envoyProtoDirs.flatMap((d) => ['-I', d]),
    '-O',
    outDir,
    'envoy/service/ext_proc/v3/external_processor.proto',
    'envoy/service/discovery/v3/ads.proto',
  ],
  { stdio: 'inherit' },
);

function walk(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
}
for (const file of walk(outDir)) {
  if (!file.endsWith('.ts')) continue;
  const text = readFileSync(file, 'utf8')
    .replaceAll(`${deps}/`, '')
    .replace(/from '(\.{1,2}\/[^']+?)'/g, "from '$1.ts'");
  // Lint exemptions only where the generator writes what our rules forbid (unused ones are warnings).
  const rules = [
    /: any\b|=> any\b/.test(text) ? '@typescript-eslint/no-explicit-any' : '',
    /interface \w+ \{\s*\}|: \{\s*\}/.test(text) ? '@typescript-eslint/no-empty-object-type' : '',
  ].filter(Boolean);
  writeFileSync(file, rules.length > 0 ? `/* eslint-disable ${rules.join(', ')} */\n${text}` : text);
}
