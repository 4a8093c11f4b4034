// Debug sessions against a real kube-apiserver (docs/operations.md#debug-sessions): a DebugSession
// reaches the runtime snapshot of a node of the DataPlane serving its proxy and of no other; a gRPC
// client playing extproc reports captures over DebugCaptureService on the xDS port: stored as Secrets
// owned by the session, counted in status, the session completes at count and leaves the snapshot,
// later reports get remaining 0. Refused: a report from a node of another DataPlane, for an unknown
// session, from a node with no ADS stream, too large, or with more transactions than count. Stop and
// expiry end a session; a session naming another namespace's proxy, or a filter that does not parse,
// is not Accepted. `gatehouse trace start/get/stop` against the same apiserver.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import protobuf from 'protobufjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOptions } from '../../lib/cli/command.ts';
import { debugCapture } from '../../operator/src/api/debugsession.ts';
import { traceCommand } from '../../operator/src/command.ts';
import { startKubeOperator, type KubeOperator } from '../../operator/src/kube-operator.ts';
import { runTrace } from '../../operator/src/trace-command.ts';
import { silentLog, sotwClient } from '../../operator/src/xds/control-plane.test-support.ts';
import { debugProtos, typeUrls, type DebugCaptureAck } from '../../operator/src/xds/protos.ts';
import type { DebugCaptureReport } from '../../protos/gen/gatehouse/v1/DebugCaptureReport.ts';
import type { DebugTransaction } from '../../protos/gen/gatehouse/v1/DebugTransaction.ts';
import { writeAdminKubeconfig } from '../env/kubeconfig.ts';
import { Cluster, conditionOf, eventually, operatorKubeConfig, type Obj } from './kube.ts';

const api = 'gatehouse.dev/v1alpha1';
const tag = randomBytes(3).toString('hex');
const runtimeType = protobuf
  .loadSync(new URL('../../protos/gatehouse/v1/runtime.proto', import.meta.url).pathname)
  .lookupType('gatehouse.v1.RuntimeSnapshot');

/** A node as extproc is one: subscribes to the runtime snapshot, ACKs, and keeps the debug sessions it was served. */
function runtimeNode(address: string, id: string, cluster: string) {
  const client = sotwClient(address);
  const node = { id, cluster };
  let closed = false;
  let sessions: string[] | undefined;
  client.send({ node, typeUrl: typeUrls.runtime, resourceNames: [] });
  void (async () => {
    while (!closed) {
      const response = await client.next(60_000).catch(() => undefined);
      if (!response || closed) continue;
      const any = response.resources[0] as { value?: Buffer } | undefined;
      const runtime = any?.value
        ? (runtimeType.toObject(runtimeType.decode(any.value), { longs: String }) as {
            debugSessions?: { id: string }[];
          })
        : {};
      sessions = (runtime.debugSessions ?? []).map((s) => s.id);
      client.send({
        node,
        typeUrl: typeUrls.runtime,
        responseNonce: response.nonce,
        versionInfo: response.versionInfo,
      });
    }
  })();
  return {
    /** The ids of the debug sessions in the last snapshot it got; undefined before the first. */
    get sessions() {
      return sessions;
    },
    close() {
      closed = true;
      client.close();
    },
  };
}

function captureClient(address: string) {
  const Client = debugProtos().gatehouse.v1.DebugCaptureService;
  const client = new Client(address, grpc.credentials.createInsecure());
  return {
    report: (req: DebugCaptureReport) =>
      new Promise<{ remaining?: number; code?: grpc.status; details?: string }>((resolve) =>
        client.Report(req, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null, ack?: DebugCaptureAck) =>
          resolve(err ? { code: err.code, details: err.details } : { remaining: ack?.remaining ?? 0 }),
        ),
      ),
    close: () => client.close(),
  };
}

const transaction = (n: number, extra: Partial<DebugTransaction> = {}): DebugTransaction => ({
  requestId: `req-${n}`,
  startedAtMs: Date.now(),
  durationUs: 1500,
  status: 200,
  proxy: 'ignored/by-the-operator',
  points: [
    {
      kind: 'PhaseStarted',
      phase: 'ProxyRequest',
      elapsedUs: 0,
      messageBefore: { method: 'POST', path: '/orders/1', headers: [{ name: 'x-api-key', value: '********' }] },
    },
    {
      kind: 'StepExecuted',
      phase: 'ProxyRequest',
      flow: 'PreFlow',
      policy: 'verify-key',
      policyType: 'VerifyAPIKey',
      outcome: 'executed',
      elapsedUs: 120,
      durationUs: 80,
      condition: 'request.verb = "POST"',
      conditionResult: true,
      variablesRead: [{ name: 'request.header.x-api-key', value: '********' }],
      variablesSet: [{ name: 'client_id', value: 'app-1' }],
    },
  ],
  ...extra,
});

const session = (namespace: string, name: string, spec: Record<string, unknown>): Obj => ({
  apiVersion: api,
  kind: 'DebugSession',
  metadata: { name, namespace },
  spec,
});

describe('debug sessions in a cluster', () => {
  const cluster = new Cluster();
  let operator: KubeOperator;
  let platform = '';
  let shop = '';
  let other = '';
  let address = '';
  let shopNode: ReturnType<typeof runtimeNode>;
  let otherNode: ReturnType<typeof runtimeNode>;
  let capture: ReturnType<typeof captureClient>;
  let dir = '';
  let kubeconfig = '';

  const get = (name: string, namespace = shop) => cluster.get('DebugSession', namespace, name);
  const uidOf = async (name: string) => (await get(name))!.metadata.uid!;
  const secretsOf = async (uid: string) =>
    (
      await cluster.rest.list<Obj & { type?: string; metadata: { ownerReferences?: { uid: string; kind: string }[] } }>(
        `/api/v1/namespaces/${shop}/secrets`,
        { labelSelector: `${debugCapture.sessionUidLabel}=${uid}` },
      )
    ).items;
  async function trace(...argv: string[]): Promise<{ code: number; out: string }> {
    let out = '';
    const code = await runTrace(parseOptions(traceCommand, [...argv, '--kubeconfig', kubeconfig]), {
      write: (t: string) => (out += t),
    });
    return { code, out };
  }

  beforeAll(async () => {
    platform = await cluster.operatorNamespace('dbg-platform');
    shop = await cluster.namespace('dbg-shop');
    other = await cluster.namespace('dbg-other');
    operator = await startKubeOperator({
      kc: operatorKubeConfig(),
      log: silentLog,
      namespace: platform,
      identity: `dbg-${tag}`,
      host: '127.0.0.1',
      xdsPort: 0,
      debounceMs: 20,
    });
    address = `127.0.0.1:${operator.xdsPort}`;
    await eventually('the operator leads', () => operator.isLeader());
    // Each namespace's DataPlane admits its own namespace's proxies only (the default).
    for (const [namespace, proxy] of [
      [shop, 'orders'],
      [other, 'catalog'],
    ] as const) {
      await cluster.apply({
        apiVersion: api,
        kind: 'DataPlane',
        metadata: { name: 'edge', namespace },
        spec: {
          listeners: [{ name: 'http', port: 8080, hostnames: [`${namespace}.example.test`] }],
          ...(namespace === shop ? { debugMask: { requestJSONPaths: ['$.card.number'] } } : {}),
        },
      });
      await cluster.apply({
        apiVersion: api,
        kind: 'ApiProxy',
        metadata: { name: proxy, namespace },
        spec: { basePath: `/${proxy}-${tag}`, target: { url: 'http://127.0.0.1:9090' } },
      });
    }
    shopNode = runtimeNode(address, `dbg-shop-${tag}`, `${shop}/edge/extproc`);
    otherNode = runtimeNode(address, `dbg-other-${tag}`, `${other}/edge/extproc`);
    capture = captureClient(address);
    await eventually(
      'both nodes hold a snapshot',
      () => shopNode.sessions !== undefined && otherNode.sessions !== undefined,
    );

    dir = mkdtempSync(join(tmpdir(), 'gatehouse-trace-'));
    kubeconfig = join(dir, 'kubeconfig');
    writeAdminKubeconfig(kubeconfig, shop);
  });

  afterAll(async () => {
    shopNode?.close();
    otherNode?.close();
    capture?.close();
    await operator?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('reaches the node of the DataPlane serving the proxy only; reports are stored, counted, and complete it', async () => {
    await cluster.apply(
      session(shop, 'orders-post', { proxyRef: { name: 'orders' }, count: 2, filter: 'request.verb = "POST"' }),
    );
    const uid = await uidOf('orders-post');
    await eventually('the shop node captures for it', () => shopNode.sessions?.includes(uid) === true);
    const accepted = await eventually('its status says Active', async () => {
      const s = await get('orders-post');
      return s?.status?.phase === 'Active' && conditionOf(s, 'Active')?.status === 'True' ? s : undefined;
    });
    expect(conditionOf(accepted, 'Accepted')?.status).toBe('True');
    expect(accepted.status?.expireTime).toMatch(/Z$/);
    expect(otherNode.sessions).not.toContain(uid);

    // Refused: another DataPlane's node, an unknown session, a node with no stream, too large, too many.
    const fromOther = await capture.report({
      nodeId: `dbg-other-${tag}`,
      sessionId: uid,
      transactions: [transaction(0)],
    });
    expect(fromOther.code).toBe(grpc.status.PERMISSION_DENIED);
    expect(fromOther.details).toContain('does not serve');
    const unknown = await capture.report({
      nodeId: `dbg-shop-${tag}`,
      sessionId: 'no-such-session',
      transactions: [transaction(0)],
    });
    expect(unknown.code).toBe(grpc.status.NOT_FOUND);
    const noStream = await capture.report({
      nodeId: `dbg-ghost-${tag}`,
      sessionId: uid,
      transactions: [transaction(0)],
    });
    expect(noStream.code).toBe(grpc.status.PERMISSION_DENIED);
    const big = transaction(0, {
      points: [{ kind: 'PhaseStarted', messageBefore: { method: 'POST', path: '/', body: 'x'.repeat(300 * 1024) } }],
    });
    const tooLarge = await capture.report({ nodeId: `dbg-shop-${tag}`, sessionId: uid, transactions: [big] });
    expect(tooLarge.code).toBe(grpc.status.RESOURCE_EXHAUSTED);
    const tooMany = await capture.report({
      nodeId: `dbg-shop-${tag}`,
      sessionId: uid,
      transactions: [transaction(1), transaction(2), transaction(3)],
    });
    expect(tooMany.code).toBe(grpc.status.INVALID_ARGUMENT);
    expect(await secretsOf(uid)).toEqual([]);

    const first = await capture.report({ nodeId: `dbg-shop-${tag}`, sessionId: uid, transactions: [transaction(1)] });
    expect(first).toEqual({ remaining: 1 });
    await eventually('status counts 1', async () => (await get('orders-post'))?.status?.captured === 1);
    const second = await capture.report({
      nodeId: `dbg-shop-${tag}`,
      sessionId: uid,
      transactions: [transaction(2), transaction(3)],
    });
    expect(second).toEqual({ remaining: 0 });
    const secrets = await secretsOf(uid);
    expect(secrets).toHaveLength(2);
    for (const s of secrets) {
      expect(s.type).toBe(debugCapture.secretType);
      expect(s.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: 'DebugSession', uid })]);
    }
    const completed = await eventually('Completed', async () => {
      const s = await get('orders-post');
      return s?.status?.phase === 'Completed' && conditionOf(s, 'Active')?.reason === 'Completed' ? s : undefined;
    });
    expect(completed.status?.captured).toBe(2);
    await eventually('it leaves the snapshot', () => shopNode.sessions?.includes(uid) === false);
    const later = await capture.report({ nodeId: `dbg-shop-${tag}`, sessionId: uid, transactions: [transaction(4)] });
    expect(later).toEqual({ remaining: 0 });
    expect(await secretsOf(uid)).toHaveLength(2);

    // The CLI reads the captures: a timeline per transaction, and JSON.
    const text = await trace('get', 'orders-post');
    expect(text.code).toBe(0);
    expect(text.out).toContain('phase:    Completed; captured 2 of 2');
    expect(text.out).toContain('Transaction 1: POST /orders/1 -> 200');
    expect(text.out).toContain('StepExecuted  ProxyRequest PreFlow verify-key (VerifyAPIKey) executed');
    expect(text.out).toContain('set   client_id = app-1');
    const json = JSON.parse((await trace('get', uid, '-o', 'json')).out) as {
      transactions: unknown[];
      session: { phase: string };
    };
    expect(json.session.phase).toBe('Completed');
    expect(json.transactions).toHaveLength(2);
  });

  it('stop and expiry end a session and take it out of the snapshot', async () => {
    const started = await trace('start', `${shop}/orders`, '--count', '3', '--filter', 'request.verb = "GET"');
    expect(started.code).toBe(0);
    const name = started.out.trim().split('/')[1]!;
    const uid = await uidOf(name);
    await eventually('started session is served', () => shopNode.sessions?.includes(uid) === true);
    const stopped = await trace('stop', name);
    expect(stopped.out).toContain('stopped');
    await eventually('Stopped', async () => (await get(name))?.status?.phase === 'Stopped');
    await eventually('stopped session leaves the snapshot', () => shopNode.sessions?.includes(uid) === false);
    expect(
      (await capture.report({ nodeId: `dbg-shop-${tag}`, sessionId: uid, transactions: [transaction(1)] })).remaining,
    ).toBe(0);

    await cluster.apply(session(shop, 'short', { proxyRef: { name: 'orders' }, timeout: '4s' }));
    const shortUid = await uidOf('short');
    await eventually('Expired', async () => (await get('short'))?.status?.phase === 'Expired', 60_000);
    await eventually('expired session leaves the snapshot', () => shopNode.sessions?.includes(shortUid) === false);
  });

  it("refuses another namespace's proxy, a filter that does not parse, and a missing proxy, with conditions", async () => {
    await cluster.apply(session(shop, 'foreign', { proxyRef: { name: 'catalog', namespace: other } }));
    await cluster.apply(session(shop, 'bad-filter', { proxyRef: { name: 'orders' }, filter: 'request.verb = = "x"' }));
    await cluster.apply(session(shop, 'missing', { proxyRef: { name: `nope-${tag}` } }));
    const refused = async (name: string, reason: string, text: string) => {
      const s = await eventually(`${name} is refused`, async () => {
        const o = await get(name);
        return conditionOf(o, 'Accepted')?.status === 'False' ? o : undefined;
      });
      expect(conditionOf(s, 'Accepted')).toMatchObject({ reason });
      expect(conditionOf(s, 'Accepted')?.message).toContain(text);
      expect(s.status?.phase).toBeUndefined();
    };
    await refused('foreign', 'NotAllowed', 'spec.proxyRef.namespace');
    await refused('bad-filter', 'Invalid', 'spec.filter');
    await refused('missing', 'RefNotFound', 'spec.proxyRef.name');
    for (const name of ['foreign', 'bad-filter', 'missing']) expect(shopNode.sessions).not.toContain(await uidOf(name));
    // The apiserver refuses a count above Apigee's 15 outright.
    await expect(cluster.apply(session(shop, 'too-many', { proxyRef: { name: 'orders' }, count: 20 }))).rejects.toThrow(
      /count/,
    );
    // The CLI: an unknown session is exit 1 with its code.
    await expect(trace('get', `nope-${tag}`)).rejects.toMatchObject({ code: 'GH_ERR_TRACE_NOT_FOUND', exitCode: 1 });
  });
});
