import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialHashKeyFrom } from './credential-key.ts';
import { loadFolder, parseManifests, SourceReadError } from './folder.ts';

describe('parseManifests', () => {
  it('reads every document with its line, skips empty ones and expands Lists', () => {
    const text = [
      '# comment',
      'apiVersion: v1',
      'kind: Secret',
      'metadata: {name: a}',
      '---',
      '---',
      'apiVersion: v1',
      'kind: List',
      'items:',
      '  - {apiVersion: v1, kind: Secret, metadata: {name: b}}',
      '  - {apiVersion: v1, kind: Secret, metadata: {name: c}}',
    ].join('\n');
    const { objects, diagnostics } = parseManifests(text, 'f.yaml');
    expect(diagnostics).toEqual([]);
    expect(objects.map((o) => [(o.object as { metadata: { name: string } }).metadata.name, o.origin])).toEqual([
      ['a', { file: 'f.yaml', line: 2 }],
      ['b', { file: 'f.yaml', line: 7 }],
      ['c', { file: 'f.yaml', line: 7 }],
    ]);
  });

  it('reports a document that does not parse with its line and keeps the others', () => {
    const { objects, diagnostics } = parseManifests('kind: A\n---\nkind: [unclosed\n---\nkind: B\n', 'bad.yaml');
    expect(objects.map((o) => (o.object as { kind: string }).kind)).toEqual(['A', 'B']);
    expect(diagnostics).toHaveLength(1);
    expect(diagnostics[0]).toMatchObject({ severity: 'error', code: 'GH_ERR_SOURCE_YAML', file: 'bad.yaml' });
    expect(diagnostics[0]!.message).toMatch(/^line \d+: /);
  });
});

describe('loadFolder', () => {
  it('reads .yaml, .yml and .json files recursively in name order, ignoring other and hidden files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-folder-'));
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, '.git'));
    writeFileSync(join(dir, 'b.yaml'), 'kind: B\n');
    writeFileSync(join(dir, 'a.yml'), 'kind: A\n');
    writeFileSync(join(dir, 'sub', 'c.json'), '{"kind": "C"}');
    writeFileSync(join(dir, 'notes.txt'), 'kind: X\n');
    writeFileSync(join(dir, '.git', 'd.yaml'), 'kind: D\n');
    const { objects } = loadFolder(dir, dir);
    expect(objects.map((o) => [(o.object as { kind: string }).kind, o.origin?.file])).toEqual([
      ['A', 'a.yml'],
      ['B', 'b.yaml'],
      ['C', join('sub', 'c.json')],
    ]);
  });

  it('reads a single file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-folder-'));
    writeFileSync(join(dir, 'one.yaml'), 'kind: A\n');
    expect(loadFolder(join(dir, 'one.yaml')).objects).toHaveLength(1);
  });

  it('throws SourceReadError for a path that does not exist', () => {
    expect(() => loadFolder('/nonexistent/gatehouse')).toThrow(SourceReadError);
  });
});

describe('credentialHashKeyFrom', () => {
  const secret = (namespace: string, data: object) => ({
    object: {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'gatehouse-credential-hash-key', namespace },
      ...data,
    },
  });

  it('reads stringData or base64 data, first by namespace', () => {
    expect(credentialHashKeyFrom([])).toBeUndefined();
    expect(
      credentialHashKeyFrom([
        secret('b', { stringData: { key: 'from-b' } }),
        secret('a', { data: { key: Buffer.from('from-a').toString('base64') } }),
      ]),
    ).toBe('from-a');
  });
});
