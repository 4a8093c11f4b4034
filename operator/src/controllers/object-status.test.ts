import { describe, expect, it } from 'vitest';
import type { NodeStatus } from '../xds/node-registry.ts';
import type { ObjectOutcome } from './last-accepted.ts';
import { desiredStatus, RevisionHistory } from './object-status.ts';

const ok = (kind: string, generation = 1): ObjectOutcome => ({
  id: { kind, namespace: 'shop', name: 'orders' },
  generation,
  servingGeneration: generation,
  conditions: [
    { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' },
    { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' },
  ],
});
const node = (id: string, syncedVersion: string | undefined, extra: Partial<NodeStatus> = {}): NodeStatus => ({
  id,
  cluster: 'gatehouse/edge/envoy',
  connectedSince: '2026-01-01T00:00:00.000Z',
  streams: 1,
  syncedVersion,
  syncedAt: '2026-01-01T00:00:01.000Z',
  types: {},
  ...extra,
});

function inputs(nodes: NodeStatus[]) {
  const history = new RevisionHistory();
  history.record('v1', new Map([['shop/orders', 'r1']]));
  history.record('v2', new Map([['shop/orders', 'r2']]));
  return { version: 'v2', nodes, history, revisions: new Map([['shop/orders', 'r2']]) };
}
const cond = (s: { conditions: { type: string }[] }, type: string) => s.conditions.find((c) => c.type === type);

describe('desiredStatus', () => {
  it('ApiProxy: Ready once every node runs this revision; dataPlanes[] per node', () => {
    const s = desiredStatus('ApiProxy', ok('ApiProxy'), inputs([node('envoy-a', 'v2'), node('envoy-b', 'v1')]));
    expect(cond(s, 'Programmed')).toMatchObject({ status: 'True', reason: 'Programmed' });
    expect(cond(s, 'Ready')).toMatchObject({
      status: 'False',
      reason: 'SyncPending',
      message: expect.stringContaining('envoy-b') as unknown,
    });
    expect(s.dataPlanes).toEqual([
      { name: 'envoy-a', version: 'r2', synced: true, lastSyncTime: '2026-01-01T00:00:01Z' },
      { name: 'envoy-b', version: 'r1', synced: false },
    ]);
    expect(s.dataPlanesSynced).toBe('1/2');
    const all = desiredStatus('ApiProxy', ok('ApiProxy'), inputs([node('envoy-a', 'v2'), node('envoy-b', 'v2')]));
    expect(cond(all, 'Ready')).toMatchObject({ status: 'True', reason: 'Synced' });
  });

  it('a node that does not change this proxy stays synced across snapshot versions', () => {
    const i = inputs([node('envoy-a', 'v3')]);
    i.history.record('v3', new Map([['shop/orders', 'r2']]));
    const s = desiredStatus('ApiProxy', ok('ApiProxy'), i);
    expect(s.dataPlanes).toEqual([
      { name: 'envoy-a', version: 'r2', synced: true, lastSyncTime: '2026-01-01T00:00:01Z' },
    ]);
  });

  it('reports a NACK against the current snapshot', () => {
    const nacking = node('envoy-a', 'v1', {
      types: {
        LDS: { pending: false, ackedVersion: 'v1', lastNack: { version: 'v2', message: 'bad listener', at: 'x' } },
      },
    });
    const s = desiredStatus('ApiProxy', ok('ApiProxy'), inputs([nacking]));
    expect(s.dataPlanes).toEqual([
      { name: 'envoy-a', version: 'r1', synced: false, message: 'LDS rejected: bad listener' },
    ]);
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Rejected' });
  });

  it('an invalid generation that still serves the last accepted one: Accepted False, Programmed True, Ready False', () => {
    const outcome: ObjectOutcome = {
      ...ok('ApiPolicy', 4),
      servingGeneration: 3,
      conditions: [
        { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.spikeArrest.rate: not a rate' },
        { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: '' },
      ],
    };
    const s = desiredStatus('ApiPolicy', outcome, inputs([]));
    expect(cond(s, 'Accepted')).toMatchObject({
      status: 'False',
      message: 'spec.spikeArrest.rate: not a rate; generation 3, the last accepted one, keeps serving',
    });
    expect(cond(s, 'Programmed')).toMatchObject({ status: 'True', reason: 'ServingPreviousGeneration' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'Invalid' });
    // Only an edit can fix it: kstatus and Flux report Failed at once.
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'True', reason: 'Invalid' });
  });

  it('ApiProxy with no data-plane node connected: programmed, not Ready', () => {
    const s = desiredStatus('ApiProxy', ok('ApiProxy'), inputs([]));
    expect(cond(s, 'Programmed')).toMatchObject({ status: 'True' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'NoDataPlaneConnected' });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False' });
  });

  it('not served at all: Programmed False', () => {
    const s = desiredStatus(
      'DeveloperApp',
      {
        ...ok('DeveloperApp'),
        servingGeneration: undefined,
        conditions: [
          {
            type: 'Accepted',
            status: 'False',
            reason: 'UnresolvedRefs',
            message: 'spec.products[0].name: ApiProduct "gold" not found',
          },
          {
            type: 'ResolvedRefs',
            status: 'False',
            reason: 'RefNotFound',
            message: 'spec.products[0].name: ApiProduct "gold" not found',
          },
        ],
      },
      inputs([]),
    );
    expect(cond(s, 'Programmed')).toMatchObject({ status: 'False', reason: 'NotAccepted' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'UnresolvedRefs' });
    // Creating the product fixes it: not stalled.
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False' });
    expect(s.dataPlanes).toBeUndefined();
  });
  it('served with a reference that does not resolve (an app waiting for its Developer): Programmed, not Ready', () => {
    const message = 'spec.developerRef.name: Developer "ada" not found in namespace shop';
    const s = desiredStatus(
      'DeveloperApp',
      {
        ...ok('DeveloperApp'),
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message: '' },
          { type: 'ResolvedRefs', status: 'False', reason: 'RefNotFound', message },
        ],
      },
      inputs([]),
    );
    expect(cond(s, 'Accepted')).toMatchObject({ status: 'True' });
    expect(cond(s, 'Programmed')).toMatchObject({ status: 'True' });
    expect(cond(s, 'Ready')).toMatchObject({ status: 'False', reason: 'RefNotFound', message });
    expect(cond(s, 'Stalled')).toMatchObject({ status: 'False' });
  });
});

describe('RevisionHistory', () => {
  it('answers per version after later versions change, add and drop proxies', () => {
    const history = new RevisionHistory(3);
    history.record(
      'v1',
      new Map([
        ['shop/a', 'a1'],
        ['shop/b', 'b1'],
      ]),
    );
    history.record(
      'v2',
      new Map([
        ['shop/a', 'a1'],
        ['shop/b', 'b2'],
        ['shop/c', 'c2'],
      ]),
    );
    history.record(
      'v3',
      new Map([
        ['shop/b', 'b2'],
        ['shop/c', 'c3'],
      ]),
    );
    expect(['a', 'b', 'c'].map((p) => history.revision('v1', `shop/${p}`))).toEqual(['a1', 'b1', undefined]);
    expect(['a', 'b', 'c'].map((p) => history.revision('v2', `shop/${p}`))).toEqual(['a1', 'b2', 'c2']);
    expect(['a', 'b', 'c'].map((p) => history.revision('v3', `shop/${p}`))).toEqual([undefined, 'b2', 'c3']);
    history.record('v4', new Map([['shop/a', 'a4']]));
    expect(history.knows('v1')).toBe(false);
    expect(history.revision('v4', 'shop/a')).toBe('a4');
    expect(history.revision('v4', 'shop/b')).toBeUndefined();
    // A version published again moves to the newest place with what it holds now.
    history.record('v2', new Map([['shop/a', 'a1']]));
    expect(history.revision('v2', 'shop/b')).toBeUndefined();
    expect(history.knows('v3')).toBe(true);
  });
});
