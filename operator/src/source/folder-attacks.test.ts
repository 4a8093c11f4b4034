// Attacks on folder mode (issue 13 item 8): what a GitOps folder can hold that a careless or hostile
// commit, a half-finished write or a vanished mount puts there. Folder mode never loses an edit: a
// bad file is named with its reason, the rest keeps serving (the bad file's last good objects among
// them), later edits apply at once, and once the bad file is fixed or removed the published snapshot
// is exactly a fresh compile of the folder. Real files in temporary folders, the real FolderSource
// (fs.watch and its stat poll) and the real pipeline; tests wait for conditions, never for time.
import { execFile } from 'node:child_process';
import {
  closeSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  renameSync,
  rmSync,
  symlinkSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { compile } from '../compile/compile.ts';
import { SnapshotPipeline } from '../pipeline/pipeline.ts';
import {
  captureLog,
  credentialStatuses,
  manifest,
  recordingControlPlane,
  servedProxies,
  tempFolder,
  waitFor,
} from '../pipeline/pipeline.test-support.ts';
import { credentialHashKeyFrom } from './credential-key.ts';
import { loadFolder } from './folder.ts';
import { FolderSource, type FolderSourceOptions } from './watch-folder.ts';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A live folder operator without the xDS server: FolderSource -> SnapshotPipeline -> a recording publish. */
async function live(files: Record<string, string>, options: Partial<FolderSourceOptions> = {}) {
  const folder = tempFolder('gatehouse-attack-');
  cleanups.push(folder.remove);
  for (const [name, text] of Object.entries(files)) writeFileSync(join(folder.dir, name), text);
  const source = new FolderSource({ path: folder.dir, cwd: folder.dir, debounceMs: 20, pollMs: 100, ...options });
  await source.start();
  cleanups.push(() => source.stop());
  const controlPlane = recordingControlPlane();
  const logs = captureLog();
  const pipeline = new SnapshotPipeline({ source, controlPlane, log: logs.log, debounceMs: 0 });
  pipeline.start();
  cleanups.push(() => pipeline.stop());
  const served = () => servedProxies(controlPlane.last());
  /** The version a fresh `gatehouse compile` of the folder gives now. */
  const fresh = () => {
    const loaded = loadFolder(folder.dir, folder.dir);
    expect(loaded.diagnostics).toEqual([]);
    return compile(loaded.objects, { credentialHashKey: credentialHashKeyFrom(loaded.objects) }).snapshot.version;
  };
  const errorNaming = (file: string) => logs.errors().find((l) => l.file === file);
  return { dir: folder.dir, source, controlPlane, logs, pipeline, served, fresh, errorNaming };
}

const repo = resolve(import.meta.dirname, '../../..');
const run = promisify(execFile);

/** `gatehouse compile -f dir` as a real process. */
async function gatehouseCompile(dir: string): Promise<{ code: number; stderr: string }> {
  try {
    const { stderr } = await run(
      join(repo, 'node_modules/.bin/node'),
      [join(repo, 'bin/gatehouse.js'), 'compile', '-f', dir],
      { cwd: dir },
    );
    return { code: 0, stderr };
  } catch (err) {
    const e = err as { code: number; stderr: string };
    return { code: e.code, stderr: e.stderr };
  }
}

describe('folder attacks', () => {
  it('an alias bomb: named with file and line, the file keeps serving, and `gatehouse compile` reports it without crashing', async () => {
    const op = await live({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    writeFileSync(join(op.dir, 'orders.yaml'), `${manifest.proxy('orders', '/orders/v2')}---\n${manifest.aliasBomb()}`);
    await waitFor('the alias bomb to be reported', () => op.errorNaming('orders.yaml') !== undefined);
    expect(op.errorNaming('orders.yaml')).toMatchObject({
      code: 'GH_ERR_SOURCE_YAML',
      line: 6,
      msg: 'orders.yaml: line 6: the document expands more than 100 aliases (an alias bomb?); not read',
    });
    // The document beside the bomb parsed: its edit applies.
    expect(op.served()).toEqual(['orders:/orders/v2']);

    const cli = await gatehouseCompile(op.dir);
    expect(cli.code).toBe(1);
    expect(cli.stderr).toContain(
      'orders.yaml: line 6: the document expands more than 100 aliases (an alias bomb?); not read\n',
    );
    expect(cli.stderr).not.toMatch(/ReferenceError|\n\s+at /);
  });

  it('a dangling symbolic link: named, the rest keeps serving and keeps taking edits; removed, the state is a fresh load', async () => {
    const op = await live({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    symlinkSync('nowhere.yaml', join(op.dir, 'dangling.yaml'));
    await waitFor('the dangling link to be reported', () => op.errorNaming('dangling.yaml') !== undefined);
    expect(op.errorNaming('dangling.yaml')!.msg).toBe(
      'dangling.yaml: a symbolic link to nowhere.yaml, which does not exist',
    );
    writeFileSync(join(op.dir, 'catalog.yaml'), manifest.proxy('catalog', '/catalog'));
    await waitFor('the edit after the bad file', () => op.served().includes('catalog:/catalog'));
    unlinkSync(join(op.dir, 'dangling.yaml'));
    await waitFor('the link to be gone', () => op.source.diagnostics().length === 0);
    await waitFor('a fresh load', () => op.controlPlane.last()!.version === op.fresh());
  });

  it('a link that replaces a served file keeps its objects serving until the file is back', async () => {
    const op = await live({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    unlinkSync(join(op.dir, 'orders.yaml'));
    symlinkSync('nowhere.yaml', join(op.dir, 'orders.yaml'));
    await waitFor('the dangling link to be reported', () => op.errorNaming('orders.yaml') !== undefined);
    expect(op.errorNaming('orders.yaml')!.msg).toBe(
      'orders.yaml: a symbolic link to nowhere.yaml, which does not exist; its last good objects keep serving',
    );
    expect(op.served()).toEqual(['orders:/orders']);
    // Replaced atomically by a file again (write, then rename over the link).
    writeFileSync(join(op.dir, 'orders.yaml.tmp'), manifest.proxy('orders', '/orders/v2'));
    renameSync(join(op.dir, 'orders.yaml.tmp'), join(op.dir, 'orders.yaml'));
    await waitFor('the file to be back', () => op.served().includes('orders:/orders/v2'));
    expect(op.source.diagnostics()).toEqual([]);
    expect(op.controlPlane.last()!.version).toBe(op.fresh());
  });

  it('a half-written file: the proxy keeps its last revision while the file is cut short, and the finished write applies', async () => {
    const op = await live({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    const full = manifest.proxy('orders', '/orders/v2');
    const fd = openSync(join(op.dir, 'orders.yaml'), 'w');
    // Cut mid-line: a YAML error; the file's last good objects keep serving.
    writeSync(fd, full.slice(0, full.indexOf('target')));
    await waitFor('the cut file to be read', () =>
      op.source.diagnostics().some((d) => d.file === 'orders.yaml' && d.code === 'GH_ERR_SOURCE_YAML'),
    );
    await waitFor('the pipeline to see it', () => op.errorNaming('orders.yaml') !== undefined);
    expect(op.served()).toEqual(['orders:/orders']);
    // The rest of the write arrives: applied, nothing left over.
    writeSync(fd, full.slice(full.indexOf('target')));
    closeSync(fd);
    await waitFor('the finished write', () => op.served().includes('orders:/orders/v2'));
    expect(op.source.diagnostics()).toEqual([]);

    // Cut at a line boundary inside the object: valid YAML, an invalid object: its last accepted revision serves.
    writeFileSync(
      join(op.dir, 'orders.yaml'),
      'apiVersion: gatehouse.dev/v1alpha1\nkind: ApiProxy\nmetadata: {name: orders, namespace: shop}\nspec:\n  basePath: /orders/v3\n',
    );
    await waitFor('the invalid revision to be reported', () =>
      op.logs.errors().some((l) => l.msg.includes('ApiProxy/shop/orders') && l.msg.includes('keeps serving')),
    );
    expect(op.served()).toEqual(['orders:/orders/v2']);
  });

  it('a deleted folder: an error naming it, everything keeps serving, and it recovers when the folder is back', async () => {
    const op = await live({
      'orders.yaml': manifest.proxy('orders', '/orders'),
      'catalog.yaml': manifest.proxy('catalog', '/catalog'),
    });
    const before = op.controlPlane.last()!.version;
    rmSync(op.dir, { recursive: true, force: true });
    await waitFor('the folder to be reported', () => op.errorNaming(op.dir) !== undefined);
    expect(op.errorNaming(op.dir)).toMatchObject({
      code: 'GH_ERR_SOURCE_READ',
      msg: `${op.dir}: cannot read the manifests folder (ENOENT: no such file or directory); everything read from it keeps serving`,
    });
    expect(op.controlPlane.published.every((p) => p.snapshot.version === before)).toBe(true);
    expect(op.served()).toEqual(['catalog:/catalog', 'orders:/orders']);

    mkdirSync(op.dir);
    writeFileSync(join(op.dir, 'orders.yaml'), manifest.proxy('orders', '/orders/v2'));
    await waitFor('the folder to be back', () => op.served().join() === 'orders:/orders/v2');
    expect(op.source.diagnostics()).toEqual([]);
    expect(op.controlPlane.last()!.version).toBe(op.fresh());
    // And it is watched again: later edits apply too.
    writeFileSync(join(op.dir, 'catalog.yaml'), manifest.proxy('catalog', '/catalog/v2'));
    await waitFor('an edit in the new folder', () => op.served().includes('catalog:/catalog/v2'));
  });

  for (const watch of [true, false]) {
    it(`a revoked credential applies after a failed reload (${watch ? 'fs.watch and poll' : 'poll only'})`, async () => {
      const op = await live(
        {
          'orders.yaml': manifest.proxy('orders', '/orders'),
          'apps.yaml': manifest.app('Approved'),
          'other.yaml': manifest.proxy('other', '/other'),
        },
        { watch },
      );
      expect(credentialStatuses(op.controlPlane.last())).toEqual(['Approved']);
      // A reload fails on one file after another, each kind of failure in turn...
      writeFileSync(join(op.dir, 'other.yaml'), manifest.aliasBomb());
      symlinkSync('nowhere.yaml', join(op.dir, 'dangling.yaml'));
      writeFileSync(join(op.dir, 'latin1.yaml'), Buffer.from([0x6b, 0x3a, 0x20, 0xe9, 0x0a]));
      await waitFor('every bad file to be named', () =>
        ['other.yaml', 'dangling.yaml', 'latin1.yaml'].every((f) => op.errorNaming(f) !== undefined),
      );
      // ...and the revocation that follows still applies, at once, though the bad files are still there.
      writeFileSync(join(op.dir, 'apps.yaml'), manifest.app('Revoked'));
      await waitFor('the revocation', () => credentialStatuses(op.controlPlane.last()).join() === 'Revoked');
      expect(op.served()).toEqual(['orders:/orders', 'other:/other']);
    });
  }

  it('a link out of the folder, a folder link that loops, a file that is not UTF-8: named, nothing crashes, the rest serves', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'gatehouse-outside-'));
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'secret.yaml'), 'apiVersion: v1\nkind: Secret\nmetadata: {name: host}\n');
    const op = await live({ 'orders.yaml': manifest.proxy('orders', '/orders') });
    symlinkSync(join(outside, 'secret.yaml'), join(op.dir, 'host.yaml'));
    symlinkSync('..', join(op.dir, 'up'));
    symlinkSync('.', join(op.dir, 'self'));
    writeFileSync(join(op.dir, 'latin1.yaml'), Buffer.from('kind: Caf\xe9\n', 'latin1'));
    await waitFor('every one to be named', () => op.source.diagnostics().length === 4);
    expect(op.source.diagnostics().map((d) => [d.file, d.severity, d.message])).toEqual([
      ['host.yaml', 'error', expect.stringMatching(/outside the manifests folder; not read$/)],
      ['latin1.yaml', 'error', 'line 1: not UTF-8 text; not read'],
      ['self', 'warning', 'a symbolic link to a folder; not followed (point at the folder itself)'],
      ['up', 'warning', 'a symbolic link to a folder; not followed (point at the folder itself)'],
    ]);
    expect(op.served()).toEqual(['orders:/orders']);
    writeFileSync(join(op.dir, 'catalog.yaml'), manifest.proxy('catalog', '/catalog'));
    await waitFor('an edit beside them', () => op.served().includes('catalog:/catalog'));
  });

  it('an idle watcher polls once per poll interval, an option left undefined included, and reads nothing', async () => {
    const files = Object.fromEntries(
      Array.from({ length: 50 }, (_, i) => [`p${i}.yaml`, manifest.proxy(`p${i}`, `/p${i}`)]),
    );
    // Options passed as undefined take the defaults (a spread of them used to make the interval 1 ms).
    const idle = await live(files, { pollMs: undefined, debounceMs: undefined });
    expect([idle.source.pollMs, idle.source.debounceMs]).toEqual([2_000, 100]);
    const started = performance.now();
    writeFileSync(join(idle.dir, 'p0.yaml'), manifest.proxy('p0', '/p0/v2'));
    await waitFor('the edit, through fs.watch', () => idle.served().includes('p0:/p0/v2'));
    const elapsed = performance.now() - started;
    expect(idle.source.counters.polls).toBeLessThanOrEqual(Math.ceil(elapsed / 2_000) + 1);

    // What one poll costs, measured over polls driven faster: far below 1% of a core at the default interval.
    const fast = await live(files, { pollMs: 20, watch: false });
    const reads = fast.source.counters.reads;
    const polls = fast.source.counters.polls;
    const cpu = process.cpuUsage();
    await waitFor('20 polls', () => fast.source.counters.polls >= polls + 20);
    const used = process.cpuUsage(cpu);
    const n = fast.source.counters.polls - polls;
    const perPollMs = (used.user + used.system) / 1_000 / n;
    expect(perPollMs / defaultInterval).toBeLessThan(0.01);
    // Idle: the polls stat the files (one stat each) and read none.
    expect(fast.source.counters.reads).toBe(reads);
    expect(fast.source.counters.stats).toBeLessThanOrEqual((fast.source.counters.polls + reads) * 50);
  });
});

const defaultInterval = 2_000;

describe('folder mode never loses an edit (property)', () => {
  type Step = { file: 'a' | 'b' | 'c'; action: 'good' | 'good2' | Bad | 'remove' };
  type Bad = 'yaml' | 'alias' | 'utf8' | 'invalid' | 'half' | 'dangling' | 'outside';
  const bad: Bad[] = ['yaml', 'alias', 'utf8', 'invalid', 'half', 'dangling', 'outside'];
  const good = (f: string, v: string) =>
    `${manifest.proxy(`${f}1`, `/${f}1${v}`)}---\n${manifest.proxy(`${f}2`, `/${f}2`)}`;

  it('after any sequence of good, bad and removed files, fixing or removing the bad ones gives a fresh compile', async () => {
    const outside = mkdtempSync(join(tmpdir(), 'gatehouse-outside-'));
    cleanups.push(() => rmSync(outside, { recursive: true, force: true }));
    writeFileSync(join(outside, 'x.yaml'), manifest.proxy('x', '/x'));
    const step = fc.record({
      file: fc.constantFrom<Step['file']>('a', 'b', 'c'),
      action: fc.constantFrom<Step['action']>('good', 'good2', 'remove', ...bad),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 1, maxLength: 12 }), async (steps) => {
        const op = await live({ 'a.yaml': good('a', ''), 'b.yaml': good('b', '') }, { watch: false, pollMs: 600_000 });
        try {
          const path = (f: string) => join(op.dir, `${f}.yaml`);
          const put = (f: string, content: string | Buffer) => {
            rmSync(path(f), { force: true });
            writeFileSync(path(f), content);
          };
          const state = new Map<string, 'good' | 'bad' | 'gone'>([
            ['a', 'good'],
            ['b', 'good'],
            ['c', 'gone'],
          ]);
          for (const { file: f, action } of steps) {
            const servedBefore = op.served();
            const g = good(f, '/v2');
            switch (action) {
              case 'good':
                put(f, good(f, ''));
                break;
              case 'good2':
                put(f, g);
                break;
              case 'remove':
                rmSync(path(f), { force: true });
                break;
              case 'yaml': // f1's document broken, f2's as always
                put(f, `kind: [unclosed\n---\n${manifest.proxy(`${f}2`, `/${f}2`)}`);
                break;
              case 'alias':
                put(f, manifest.aliasBomb());
                break;
              case 'utf8':
                put(f, Buffer.concat([Buffer.from(g), Buffer.from([0xff, 0x0a])]));
                break;
              case 'invalid':
                put(f, `${manifest.proxy(`${f}1`, 'no-slash')}---\n${manifest.proxy(`${f}2`, 'no-slash')}`);
                break;
              case 'half': // the first part of a write
                put(f, g.slice(0, g.indexOf('target')));
                break;
              case 'dangling':
                rmSync(path(f), { force: true });
                symlinkSync(`${f}-nowhere.yaml`, path(f));
                break;
              case 'outside':
                rmSync(path(f), { force: true });
                symlinkSync(join(outside, 'x.yaml'), path(f));
                break;
            }
            await op.source.reload();
            op.pipeline.rebuild();
            if (action === 'remove') state.set(f, 'gone');
            else if (action === 'good' || action === 'good2') state.set(f, 'good');
            else {
              state.set(f, 'bad');
              // A bad file changes nothing that serves: its objects keep their last good revision
              // (only a document of it that does parse can add its object).
              const after = op.served();
              expect(after.filter((p) => servedBefore.includes(p))).toEqual(servedBefore);
              expect(after.filter((p) => !servedBefore.includes(p))).toEqual(
                action === 'yaml' && !servedBefore.includes(`${f}2:/${f}2`) ? [`${f}2:/${f}2`] : [],
              );
            }
          }
          // Fix every bad file (or remove it): the published snapshot is a fresh compile of the folder.
          for (const [f, s] of state) {
            if (s !== 'bad') continue;
            if (f === 'b') rmSync(path(f), { force: true });
            else put(f, good(f, '/v3'));
          }
          await op.source.reload();
          op.pipeline.rebuild();
          expect(op.source.diagnostics()).toEqual([]);
          expect(op.controlPlane.last()!.version).toBe(op.fresh());
        } finally {
          for (const c of cleanups.splice(cleanups.length - 3).reverse()) await c();
        }
      }),
      { numRuns: 30 },
    );
  });
});
