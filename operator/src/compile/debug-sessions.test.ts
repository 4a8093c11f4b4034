// DebugSessions in the compiler (docs/operations.md#debug-sessions): when a session is active (the
// clock is an input), which views hold it, how the DataPlane's mask merges with the session's, and
// what is refused. The golden scenario 18-debug-sessions holds the snapshot shape.
import { describe, expect, it } from 'vitest';
import { compile } from './compile.ts';
import { maskOf } from './resolve-debug-sessions.ts';

const obj = (kind: string, namespace: string, name: string, spec: unknown, extra: Record<string, unknown> = {}) => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind,
    metadata: { name, namespace, ...extra },
    spec,
  },
});
const created = '2026-12-02T16:00:00Z';
const start = Date.parse(created);
const session = (name: string, spec: Record<string, unknown>, status?: Record<string, unknown>) => ({
  object: {
    ...obj(
      'DebugSession',
      'shop',
      name,
      { proxyRef: { name: 'orders' }, ...spec },
      {
        uid: `uid-${name}`,
        creationTimestamp: created,
        generation: 1,
      },
    ).object,
    ...(status ? { status } : {}),
  },
});
const base = [
  obj('ApiProxy', 'shop', 'orders', { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } }),
  obj('DataPlane', 'shop', 'edge', { debugMask: { variables: ['request.header.x-customer'] } }),
  obj('DataPlane', 'other', 'edge', {}),
];
const run = (now: number | undefined, ...sessions: ReturnType<typeof session>[]) =>
  compile([...base, ...sessions], { credentialHashKey: 'k', ...(now === undefined ? {} : { now }) });
const viewSessions = (result: ReturnType<typeof run>, dataPlane: string) =>
  (result.snapshot.dataPlanes.find((d) => d.dataPlane === dataPlane)?.runtime.debugSessions ?? []).map((s) => s.name);

describe('DebugSession compile', () => {
  it('is active from creation until creation + timeout, and in the serving DataPlane view only', () => {
    const s = session('t', { timeout: '90s' });
    expect(viewSessions(run(start, s), 'shop/edge')).toEqual(['t']);
    expect(viewSessions(run(start + 89_999, s), 'shop/edge')).toEqual(['t']);
    expect(viewSessions(run(start, s), 'other/edge')).toEqual([]);
    const expired = run(start + 90_000, s);
    expect(viewSessions(expired, 'shop/edge')).toEqual([]);
    expect(expired.debugSessions[0]).toMatchObject({ phase: 'Expired', active: false });
    // Without a clock nothing is active (compile stays a function of its inputs).
    expect(viewSessions(run(undefined, s), 'shop/edge')).toEqual([]);
  });

  it('leaves the snapshot when complete (status.captured = count), stopped, or once written Expired', () => {
    const results = [
      run(start, session('done', { count: 2 }, { captured: 2 })),
      run(start, session('stopped', { stopped: true })),
      run(start, session('expired', {}, { phase: 'Expired' })),
    ];
    expect(results.map((r) => viewSessions(r, 'shop/edge'))).toEqual([[], [], []]);
    expect(results.map((r) => r.debugSessions[0]?.phase)).toEqual(['Completed', 'Stopped', 'Expired']);
    // A status.captured below count keeps it capturing.
    expect(viewSessions(run(start, session('half', { count: 2 }, { captured: 1 })), 'shop/edge')).toEqual(['half']);
  });

  it('merges the DataPlane mask into the session mask per view; the version does not depend on the clock', () => {
    const s = session('m', { mask: { headers: ['X-Token'], variables: ['a'] } });
    const result = run(start, s);
    const inView = result.snapshot.dataPlanes.find((d) => d.dataPlane === 'shop/edge')!.runtime.debugSessions![0]!;
    expect(inView.mask).toEqual({ headers: ['x-token'], variables: ['a', 'request.header.x-customer'] });
    expect(inView.expiresAtMs).toBe(String(start + 600_000));
    expect(inView.count).toBe(10);
    expect(run(start + 1000, s).snapshot.version).toBe(result.snapshot.version);
  });

  it('is not accepted when no DataPlane admits its proxy (the proxy is not accepted either)', () => {
    const result = compile(
      [
        obj('ApiProxy', 'shop', 'orders', { basePath: '/orders', target: { url: 'http://127.0.0.1:9090' } }),
        obj('DataPlane', 'other', 'edge', {}),
        session('lonely', {}),
      ],
      { credentialHashKey: 'k', now: start },
    );
    expect(result.debugSessions[0]?.conditions).toEqual([
      expect.objectContaining({ type: 'Accepted', status: 'False', reason: 'RefNotAccepted' }),
      expect.objectContaining({ type: 'Active', status: 'False', reason: 'NotAccepted' }),
    ]);
  });

  it('a proxy that is not accepted, or one of another namespace by name, never gets a session', () => {
    const result = compile(
      [
        obj('ApiProxy', 'shop', 'orders', { basePath: 'no-slash', target: { url: 'http://127.0.0.1:9090' } }),
        obj('DataPlane', 'shop', 'edge', {}),
        session('bad-proxy', {}),
        session('elsewhere', { proxyRef: { name: 'orders', namespace: 'other' } }),
      ],
      { credentialHashKey: 'k', now: start },
    );
    const accepted = Object.fromEntries(
      result.debugSessions.map((o) => [o.name, o.conditions.find((c) => c.type === 'Accepted')?.reason]),
    );
    expect(accepted).toEqual({ 'bad-proxy': 'RefNotAccepted', elsewhere: 'NotAllowed' });
    expect(result.snapshot.runtime.debugSessions).toBeUndefined();
  });

  it('maskOf joins, sorts and de-duplicates; the first mask wins a namespace prefix', () => {
    expect(
      maskOf(
        { namespaces: { p: 'urn:dp' }, requestJSONPaths: ['$.b', '$.a'] },
        { namespaces: { p: 'urn:session', q: 'urn:q' }, requestJSONPaths: ['$.a'], faultXPaths: ['/f'] },
      ),
    ).toEqual({ jsonPathsRequest: ['$.a', '$.b'], xpathsFault: ['/f'], namespaces: { p: 'urn:dp', q: 'urn:q' } });
    expect(maskOf(undefined, undefined)).toEqual({});
  });
});
