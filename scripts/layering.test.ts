// The dependency rules of scripts/layering.ts, held against every import in the repository; the
// checker itself on edges that break each rule; the docs block generated from the table.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  checkEdge,
  checkRepository,
  docMarkers,
  formatViolation,
  importsOf,
  layerOf,
  repositoryRoot,
  withLayering,
  type Import,
} from './layering.ts';

describe('the repository', () => {
  const report = checkRepository(repositoryRoot);

  it('keeps every import within the written rules', () => {
    expect(report.files).toBeGreaterThan(500);
    expect(report.violations.map(formatViolation)).toEqual([]);
  });

  it('uses every exception it lists (delete the ones that are no longer needed)', () => {
    expect(report.unusedExceptions.map((e) => `${e.from} -> ${e.to.join(', ')}`)).toEqual([]);
  });

  it('docs show the current table (npm run gen:layering)', () => {
    const docs = join(repositoryRoot, 'docs');
    const withBlock = readdirSync(docs)
      .filter((f) => f.endsWith('.md'))
      .map((f) => ({ f, text: readFileSync(join(docs, f), 'utf8') }))
      .filter(({ text }) => text.includes(docMarkers.begin));
    expect(withBlock.length).toBeGreaterThan(0);
    for (const { f, text } of withBlock) expect(text, `docs/${f}`).toBe(withLayering(text));
  });
});

describe('importsOf', () => {
  it('finds every form of import, and nothing in comments or strings', () => {
    const text = `
      import {
        a,
        b,
      } from './multi-line.ts';
      import type { T } from "./types.ts";
      import './side-effect.ts';
      export { c } from '../re-export.ts';
      export * from '../star.ts';
      export type { U } from './type-re-export.ts';
      const lazy = await import('./dynamic.ts');
      const tpl = await import(\`./template.ts\`);
      const computed = await import(name);
      type V = typeof import('./import-type.ts');
      // import { x } from './commented.ts';
      /* import('./block-commented.ts') */
      const s = "import { y } from './in-a-string.ts'";
      import pkg from '@grpc/grpc-js';
    `;
    expect(importsOf('x.ts', text).map((i) => `${i.kind} ${i.specifier}`)).toEqual([
      'import ./multi-line.ts',
      'type ./types.ts',
      'import ./side-effect.ts',
      're-export ../re-export.ts',
      're-export ../star.ts',
      'type ./type-re-export.ts',
      'dynamic ./dynamic.ts',
      'dynamic ./template.ts',
      'type ./import-type.ts',
      'import @grpc/grpc-js',
    ]);
    expect(importsOf('x.ts', text)[0]!.line).toBe(5);
    expect(importsOf('bin/gatehouse.js', "const { main } = await import('./cli.ts');")).toHaveLength(1);
  });
});

describe('checkEdge', () => {
  const edge = (file: string, specifier: string) => {
    const imp: Import = { specifier, line: 1, kind: 'import' };
    const v = checkEdge(file, imp, { dependencies: ['@grpc/grpc-js', 'pino', 'protobufjs'] });
    return v && formatViolation(v);
  };

  it('names the edge and the rule it breaks', () => {
    expect(edge('devproxy/src/main.ts', '../../operator/src/main.ts')).toMatch(
      /^devproxy\/src\/main\.ts:1 -> operator\/src\/main\.ts \(rule: devproxy imports only devproxy\/src\/, lib\/, protos\/: the Envoy stand-in/,
    );
  });

  it('no plane imports bin/, and lib/ imports no plane', () => {
    for (const file of ['operator/src/main.ts', 'extproc/src/main.ts', 'devproxy/src/main.ts', 'lib/log.ts'])
      expect(edge(file, file.startsWith('lib/') ? '../bin/cli.ts' : '../../bin/cli.ts'), file).toMatch(/bin\/cli\.ts/);
    expect(edge('operator/src/main.test.ts', '../../bin/cli.ts')).toMatch(/operator tests import only/);
    expect(edge('lib/tls/flags.ts', '../../extproc/src/main.ts')).toMatch(/lib imports only lib\//);
    expect(edge('protos/policies/index.ts', '../../operator/src/api/kinds.ts')).toMatch(/protos imports only/);
  });

  it('extproc never imports the operator, in its tests either; devproxy imports neither plane', () => {
    expect(edge('extproc/src/config/snapshot.ts', '../../../operator/src/compile/compile.ts')).toMatch(/extproc/);
    expect(edge('extproc/src/config/snapshot.test.ts', '../../../operator/src/compile/compile.ts')).toMatch(/extproc/);
    expect(edge('devproxy/src/proxy.ts', '../../extproc/src/server/server.ts')).toMatch(/devproxy/);
    expect(edge('devproxy/src/xds/ads-client.test.ts', '../../../operator/src/xds/control-plane.ts')).toBeUndefined();
    expect(edge('operator/src/xds/sds.ts', '../../../extproc/src/config/decode.ts')).toMatch(/operator imports only/);
  });

  it('the compiler is pure: api, protos and lib/errors only, no I/O modules', () => {
    expect(edge('operator/src/compile/intake.ts', '../api/validate.ts')).toBeUndefined();
    expect(edge('operator/src/compile/intake.ts', '../../../lib/errors.ts')).toBeUndefined();
    expect(edge('operator/src/compile/intake.ts', '../source/folder.ts')).toMatch(/compile imports only/);
    expect(edge('operator/src/compile/intake.ts', '../../../lib/log.ts')).toMatch(/compile imports only/);
    expect(edge('operator/src/compile/intake.ts', '../../../protos/envoy.ts')).toMatch(/compile imports only/);
    expect(edge('operator/src/compile/envoy/tls.ts', '../../../../protos/gen/json/google.protobuf.ts')).toBeUndefined();
    expect(edge('operator/src/compile/runtime.ts', 'protobufjs')).toMatch(/compile imports only the packages/);
    expect(edge('operator/src/compile/codec.ts', '../xds/envoy-codec.ts')).toMatch(/compile imports only/);
    expect(edge('operator/src/compile/intake.ts', 'node:fs')).toMatch(/compile imports only the packages/);
    expect(edge('operator/src/compile/intake.ts', 'node:crypto')).toBeUndefined();
    expect(edge('operator/src/compile/golden.test.ts', 'node:fs')).toBeUndefined();
  });

  it('the flow engine and the policies know nothing of gRPC', () => {
    expect(edge('extproc/src/policies/security/cors.ts', '@grpc/grpc-js')).toMatch(/never imports @grpc/);
    expect(edge('extproc/src/flow/engine.ts', '../server/translate.ts')).toMatch(/extproc engine imports only/);
    expect(edge('extproc/src/server/server.ts', '@grpc/grpc-js')).toBeUndefined();
  });

  it('product code imports no tests, test support, e2e or dev dependency; tests may', () => {
    expect(edge('extproc/src/server/server.ts', './testing.test-support.ts')).toMatch(/never imports tests/);
    expect(edge('operator/src/main.ts', '../../e2e/env/env.ts')).toMatch(/operator imports only/);
    expect(edge('operator/src/main.ts', 'vitest')).toMatch(/production dependencies/);
    expect(edge('operator/src/x.test-support.ts', 'vitest')).toBeUndefined();
    expect(edge('operator/src/xds/sds.test.ts', '../../../e2e/tls/pki.ts')).toBeUndefined();
    expect(edge('bench/extproc.ts', '../e2e/env/ports.ts')).toBeUndefined();
    expect(edge('e2e/env/env.ts', '../../bench/compile.ts')).toMatch(/e2e imports only/);
  });

  it('every file belongs to a layer; the most specific one', () => {
    expect(layerOf('operator/src/compile/envoy/clusters.ts')?.name).toBe('compile');
    expect(layerOf('operator/src/main.ts')?.name).toBe('operator');
    expect(layerOf('extproc/src/policies/traffic/quota.ts')?.name).toBe('extproc engine');
    expect(edge('stray.ts', './x.ts')).toMatch(/every file belongs to a layer/);
  });

  it('an exception allows exactly its edges', () => {
    expect(edge('devproxy/src/proxy.ts', '../../e2e/envoy/client.ts')).toBeUndefined();
    expect(edge('devproxy/src/proxy.ts', '../../e2e/dev/harness.ts')).toMatch(/devproxy imports only/);
  });
});
