import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { credentialHashKeyFrom } from './credential-key.ts';
import {
  listManifests,
  loadFolder,
  ManifestCache,
  parseManifestBytes,
  parseManifests,
  readManifestFileSync,
  SourceReadError,
  type FileRead,
} from './folder.ts';
import { manifest } from '../pipeline/pipeline.test-support.ts';

const names = (objects: readonly { object: unknown }[]) =>
  objects.map(
    (o) =>
      (o.object as { metadata?: { name?: string }; kind?: string }).metadata?.name ??
      (o.object as { kind: string }).kind,
  );

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

describe('parseManifests: what never gets through', () => {
  it('an alias bomb is a diagnostic with its line, not an exception or the memory of the process', () => {
    const text = `${manifest.proxy('orders', '/orders')}---\n${manifest.aliasBomb()}`;
    const { objects, diagnostics } = parseManifests(text, 'bomb.yaml');
    expect(names(objects)).toEqual(['orders']);
    expect(diagnostics).toEqual([
      {
        severity: 'error',
        code: 'GH_ERR_SOURCE_YAML',
        file: 'bomb.yaml',
        line: 6,
        message: 'line 6: the document expands more than 100 aliases (an alias bomb?); not read',
      },
    ]);
  });

  it('a few aliases are fine; an alias without its anchor is a diagnostic', () => {
    expect(parseManifests('a: &x {k: 1}\nb: *x\nc: *x\n', 'f.yaml')).toEqual({
      objects: [{ object: { a: { k: 1 }, b: { k: 1 }, c: { k: 1 } }, origin: { file: 'f.yaml', line: 1 } }],
      diagnostics: [],
    });
    expect(parseManifests('a: *nope\n', 'f.yaml').diagnostics).toMatchObject([
      { code: 'GH_ERR_SOURCE_YAML', line: 1, message: expect.stringMatching(/^line 1: Unresolved alias/) as unknown },
    ]);
  });

  it('bytes that are not UTF-8 are named with the line of the first bad byte; a BOM is fine', () => {
    const bytes = Buffer.concat([Buffer.from('kind: A\nname: caf'), Buffer.from([0xe9]), Buffer.from('\n')]);
    expect(parseManifestBytes(bytes, 'latin1.yaml')).toEqual({
      objects: [],
      diagnostics: [
        {
          severity: 'error',
          code: 'GH_ERR_SOURCE_ENCODING',
          file: 'latin1.yaml',
          line: 2,
          message: 'line 2: not UTF-8 text; not read',
        },
      ],
    });
    expect(names(parseManifestBytes(Buffer.from('\ufeffkind: A\n'), 'bom.yaml').objects)).toEqual(['A']);
  });

  it('reports at most 10 errors of a file', () => {
    const garbage = Array.from({ length: 50 }, () => '{: [').join('\n---\n');
    const { diagnostics } = parseManifests(garbage, 'garbage.yaml');
    expect(diagnostics).toHaveLength(11);
    expect(diagnostics.at(-1)!.message).toMatch(/more YAML error\(s\) not shown$/);
  });
});

describe('listManifests', () => {
  it('follows links to files inside the folder, refuses links out of it, names dangling and looping links, skips linked folders', () => {
    const outside = mkdtempSync(join(tmpdir(), 'gh-outside-'));
    writeFileSync(join(outside, 'host.yaml'), 'kind: Host\n');
    const dir = mkdtempSync(join(tmpdir(), 'gh-folder-'));
    mkdirSync(join(dir, 'real'));
    writeFileSync(join(dir, 'real', 'a.yaml'), 'kind: A\n');
    symlinkSync(join('real', 'a.yaml'), join(dir, 'link.yaml'));
    symlinkSync(join(outside, 'host.yaml'), join(dir, 'out.yaml'));
    symlinkSync('nowhere.yaml', join(dir, 'dangling.yaml'));
    symlinkSync('loop2.yaml', join(dir, 'loop1.yaml'));
    symlinkSync('loop1.yaml', join(dir, 'loop2.yaml'));
    symlinkSync('.', join(dir, 'self'));
    symlinkSync('nowhere', join(dir, 'dangling-not-a-manifest'));
    const listing = listManifests(dir);
    expect(listing.files).toEqual([join(dir, 'link.yaml'), join(dir, 'real', 'a.yaml')]);
    expect(listing.problems.map((p) => [p.path.slice(dir.length + 1), p.severity, p.code, p.message])).toEqual([
      ['dangling.yaml', 'error', 'GH_ERR_SOURCE_READ', 'a symbolic link to nowhere.yaml, which does not exist'],
      ['loop1.yaml', 'error', 'GH_ERR_SOURCE_READ', 'a symbolic link to loop2.yaml that loops'],
      ['loop2.yaml', 'error', 'GH_ERR_SOURCE_READ', 'a symbolic link to loop1.yaml that loops'],
      [
        'out.yaml',
        'error',
        'GH_ERR_SOURCE_OUTSIDE',
        expect.stringMatching(/^a symbolic link to .*host\.yaml, outside the manifests folder; not read$/),
      ],
      [
        'self',
        'warning',
        'GH_WARN_SOURCE_SKIPPED',
        'a symbolic link to a folder; not followed (point at the folder itself)',
      ],
    ]);
    // The one-shot load names every one of them and reads the rest.
    const loaded = loadFolder(dir, dir);
    expect(names(loaded.objects)).toEqual(['A', 'A']); // link.yaml and real/a.yaml: a duplicate compile reports
    expect(loaded.diagnostics.map((d) => d.file)).toEqual([
      'dangling.yaml',
      'loop1.yaml',
      'loop2.yaml',
      'out.yaml',
      'self',
    ]);
  });
});

describe('ManifestCache', () => {
  const listing = (dir: string) => listManifests(dir);
  const readAll = (dir: string) => {
    const l = listing(dir);
    return { l, reads: new Map<string, FileRead>(l.files.map((f) => [f, readManifestFileSync(f)])) };
  };

  it('a file that cannot be read keeps its last good objects and is named with the reason', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cache-'));
    writeFileSync(join(dir, 'orders.yaml'), manifest.proxy('orders', '/orders'));
    writeFileSync(join(dir, 'catalog.yaml'), manifest.proxy('catalog', '/catalog'));
    const cache = new ManifestCache(dir);
    const first = readAll(dir);
    expect(names(cache.update(first.l, first.reads).objects)).toEqual(['catalog', 'orders']);

    const failing = readAll(dir);
    failing.reads.set(join(dir, 'orders.yaml'), {
      error: Object.assign(new Error("EACCES: permission denied, open '/x/orders.yaml'"), { code: 'EACCES' }),
    });
    const r = cache.update(failing.l, failing.reads);
    expect(r.changed).toBe(true);
    expect(names(r.objects)).toEqual(['catalog', 'orders']);
    expect(r.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'GH_ERR_SOURCE_READ',
        file: 'orders.yaml',
        message: 'cannot read (EACCES: permission denied); its last good objects keep serving',
      },
    ]);
    // The same failure again is no change; a good read again is.
    expect(cache.update(failing.l, failing.reads).changed).toBe(false);
    const again = readAll(dir);
    const fixed = cache.update(again.l, again.reads);
    expect(fixed.changed).toBe(true);
    expect(fixed.diagnostics).toEqual([]);
    expect(cache.update(again.l, again.reads).changed).toBe(false);
  });

  it('while a document does not parse, the objects missing from the file keep serving; once it parses, exactly what it holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cache-'));
    const file = join(dir, 'shop.yaml');
    writeFileSync(file, `${manifest.proxy('orders', '/orders')}---\n${manifest.proxy('catalog', '/catalog')}`);
    const cache = new ManifestCache(dir);
    const update = () => {
      const { l, reads } = readAll(dir);
      return cache.update(l, reads);
    };
    update();
    // catalog's document breaks, orders is edited: the edit applies, catalog keeps its last good object.
    writeFileSync(file, `${manifest.proxy('orders', '/orders/v2')}---\nkind: [unclosed\n`);
    const broken = update();
    expect(broken.objects.map((o) => (o.object as { spec: { basePath: string } }).spec.basePath)).toEqual([
      '/orders/v2',
      '/catalog',
    ]);
    expect(broken.diagnostics.map((d) => [d.severity, d.code, d.message])).toEqual([
      ['error', 'GH_ERR_SOURCE_YAML', expect.stringMatching(/^line 7: /)],
      ['warning', 'GH_WARN_SOURCE_KEPT', 'keeps serving ApiProxy/shop/catalog from its last good read until it parses'],
    ]);
    writeFileSync(file, manifest.proxy('orders', '/orders/v3'));
    const fixed = update();
    expect(fixed).toEqual({ ...loadFolder(dir, dir), changed: true });
  });
  it('a folder that cannot be listed keeps what was read from it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'gh-cache-'));
    mkdirSync(join(dir, 'team'));
    writeFileSync(join(dir, 'team', 'orders.yaml'), manifest.proxy('orders', '/orders'));
    writeFileSync(join(dir, 'catalog.yaml'), manifest.proxy('catalog', '/catalog'));
    const cache = new ManifestCache(dir);
    const first = readAll(dir);
    cache.update(first.l, first.reads);
    // As when team/ turns unreadable (EACCES): the listing lacks its files and names the folder.
    const { l, reads } = readAll(dir);
    const unreadable = {
      ...l,
      paths: l.paths.filter((p) => !p.includes('team')),
      files: l.files.filter((p) => !p.includes('team')),
      problems: [
        {
          path: join(dir, 'team'),
          directory: true,
          severity: 'error' as const,
          code: 'GH_ERR_SOURCE_READ',
          message: 'cannot list the folder (EACCES: permission denied)',
        },
      ],
    };
    const r = cache.update(unreadable, reads);
    expect(names(r.objects)).toEqual(['catalog', 'orders']);
    expect(r.diagnostics).toEqual([
      {
        severity: 'error',
        code: 'GH_ERR_SOURCE_READ',
        file: 'team',
        message: 'cannot list the folder (EACCES: permission denied); what was read from it keeps serving',
      },
    ]);
    const again = readAll(dir);
    expect(cache.update(again.l, again.reads)).toEqual({ ...loadFolder(dir, dir), changed: true });
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
