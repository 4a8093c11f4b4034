// The worker's side of the snapshot hand-over, in-process: the primary's messages are emitted as
// node:cluster would deliver them on `process`.
import { EventEmitter } from 'node:events';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeRuntimeSnapshot, encodeRuntimeSnapshot } from '../config/decode.ts';
import { SnapshotStore } from '../config/snapshot-store.ts';
import { PrimarySnapshotSource } from './worker.ts';

const bytesOf = (version: string) =>
  encodeRuntimeSnapshot(
    decodeRuntimeSnapshot({ version, proxies: [{ namespace: 'w', name: 'p', route: 'w/p', basePath: '/p' }] }),
  );
const channel = new EventEmitter();
const deliver = (message: unknown) => channel.emit('message', message);
let source: PrimarySnapshotSource | undefined;
afterEach(async () => {
  await source?.stop();
});

describe('PrimarySnapshotSource', () => {
  it('keeps a snapshot sent before start (a message without a listener is lost), applies later ones', async () => {
    source = new PrimarySnapshotSource(pino({ level: 'silent' }), channel);
    deliver({ type: 'gatehouse:snapshot', version: 'v1', bytes: bytesOf('v1') });
    const store = new SnapshotStore();
    await source.start(store);
    await source.first();
    expect(store.current()?.version).toBe('v1');
    deliver({ type: 'gatehouse:snapshot', version: 'v2', bytes: bytesOf('v2') });
    expect(store.current()?.version).toBe('v2');
    expect(source.version()).toBe('v2');
  });

  it('keeps its snapshot when bytes do not load, and ignores messages that are not its own', async () => {
    source = new PrimarySnapshotSource(pino({ level: 'silent' }), channel);
    const store = new SnapshotStore();
    const rejected: string[] = [];
    store.onChange((e) => e.kind === 'rejected' && rejected.push(e.error.message));
    await source.start(store);
    deliver({ type: 'gatehouse:snapshot', version: 'v1', bytes: bytesOf('v1') });
    deliver({ type: 'gatehouse:snapshot', version: 'bad', bytes: new Uint8Array([0x0a, 0x10, 0x01]) });
    for (const junk of [null, 'gatehouse:snapshot', { type: 'other' }, { type: 7 }, { type: 'NODE_CLUSTER' }])
      deliver(junk);
    expect(store.current()?.version).toBe('v1');
    expect(rejected).toEqual([expect.stringMatching(/do not decode as gatehouse.v1.RuntimeSnapshot/)]);
  });
});
