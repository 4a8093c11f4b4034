import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { eventually } from '../../../e2e/env/eventually.ts';
import { testCatalog, testSnapshot } from '../server/fixtures.test-support.ts';
import { decodeRuntimeSnapshot, SnapshotInvalidError } from './decode.ts';
import { FileSnapshotSource } from './file-source.ts';
import { SnapshotStore } from './snapshot-store.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

async function setup(pollMs = 50) {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-snapshot-'));
  dirs.push(dir);
  const path = join(dir, 'snapshot.json');
  const write = async (doc: unknown) => {
    await writeFile(`${path}.tmp`, typeof doc === 'string' ? doc : JSON.stringify(doc));
    await rename(`${path}.tmp`, path); // as ConfigMap updates and editors do
  };
  await write({ version: 'v1', runtime: testSnapshot('v1'), envoy: {} });
  const store = new SnapshotStore();
  const rejected: string[] = [];
  store.onChange((e) => {
    if (e.kind === 'rejected') rejected.push(e.error.message);
  });
  const source = new FileSnapshotSource({ path, catalog: testCatalog, pollMs, debounceMs: 10 });
  await source.start(store);
  return { store, source, write, rejected };
}

/** The watcher or the poll notices a change when it does: wait for its effect, however slow the machine. */
const until = (check: () => boolean, what: string) => eventually(what, check);

describe('FileSnapshotSource', () => {
  it('loads the compile output and picks up a replaced file', async () => {
    const { store, source, write } = await setup();
    expect(store.current()?.version).toBe('v1');
    expect(store.current()?.routes.has('shop/headers')).toBe(true);
    await write({ version: 'v2', runtime: testSnapshot('v2') });
    await until(() => store.current()?.version === 'v2', 'v2 applied');
    await source.stop();
  });

  it('keeps the last good snapshot when the file turns bad, and says why', async () => {
    const { store, source, write, rejected } = await setup();
    const before = store.current();
    await write('{not json');
    await until(() => rejected.length === 1, 'the bad JSON rejected');
    await write({
      runtime: { ...testSnapshot('v3'), proxies: [{ name: 'x', policies: { p: { type: 'Unknown', enabled: true } } }] },
    });
    await until(() => rejected.length === 2, 'the unknown policy type rejected');
    await write({ runtime: { version: 'v4', proxies: [], surprise: 1 } });
    await until(() => rejected.length === 3, 'the unknown field rejected');
    expect(store.current()).toBe(before);
    expect(rejected[0]).toMatch(/not valid JSON/);
    expect(rejected[1]).toMatch(/type "Unknown" is not supported/);
    expect(rejected[2]).toMatch(/runtime.surprise: unknown field/);
    await source.stop();
  });

  it('rejects the same bad bytes once, however many change signals arrive for them', async () => {
    const { source, write, rejected } = await setup(60_000);
    await write('{not json');
    // The watch and the poll can both report one replacement: two reloads of the same bytes.
    await Promise.all([source.reload(), source.reload()]);
    await source.reload();
    expect(rejected).toHaveLength(1);
    await write('{still not json');
    await source.reload();
    expect(rejected).toHaveLength(2);
    await source.stop();
  });

  it('refuses to start from a bad file', async () => {
    const { source, write } = await setup();
    await source.stop();
    await write('[]');
    const again = new FileSnapshotSource({ path: join(dirs[0]!, 'snapshot.json'), catalog: testCatalog });
    await expect(again.start(new SnapshotStore())).rejects.toThrow(SnapshotInvalidError);
  });
});

describe('decodeRuntimeSnapshot', () => {
  it('fills defaults and names oneofs', () => {
    const s = decodeRuntimeSnapshot({
      proxies: [
        { name: 'a', flows: { preFlow: { request: [{ policy: 'p', condition: { truthy: { variable: 'x' } } }] } } },
      ],
    });
    expect(s.proxies[0]!.flows!.preFlow!.request[0]!.condition!.kind).toBe('truthy');
    expect(s.apps).toEqual([]);
    expect(s.proxies[0]!.generation).toBe('0');
  });

  it('names the path of an unknown field or a wrong type', () => {
    expect(() => decodeRuntimeSnapshot({ proxies: [{ flows: { preFlow: { requests: [] } } }] })).toThrow(
      /runtime.proxies\[0\].flows.preFlow.requests/,
    );
    expect(() => decodeRuntimeSnapshot({ proxies: {} })).toThrow(/expected a list/);
  });
});
