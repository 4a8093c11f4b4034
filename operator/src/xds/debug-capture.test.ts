// DebugCaptureService over real gRPC on the xDS server's port (docs/operations.md#debug-sessions):
// what a hostile or broken client gets, and that a failing store answers UNAVAILABLE without taking
// the server down. The apiserver-backed store and the per-DataPlane checks are in
// e2e/operator/debug-sessions.int.test.ts.
import * as grpc from '@grpc/grpc-js';
import { afterEach, describe, expect, it } from 'vitest';
import { XdsControlPlane } from './control-plane.ts';
import { silentLog } from './control-plane.test-support.ts';
import { DebugCaptureService, type CaptureSession, type CaptureSessionIndex } from './debug-capture.ts';
import { debugProtos, type DebugCaptureAck, type DebugTransaction } from './protos.ts';
import type { DebugCaptureReport } from '../../../protos/gen/gatehouse/v1/DebugCaptureReport.ts';

const session: CaptureSession = {
  id: 'uid-1',
  namespace: 'shop',
  name: 'orders-1',
  proxy: 'orders',
  count: 2,
  maxTransactionBytes: 4096,
  dataPlanes: new Set(['shop/edge']),
};
const index: CaptureSessionIndex = { active: new Map([[session.id, session]]), ended: new Set(['uid-old']) };

describe('DebugCaptureService', () => {
  let plane: XdsControlPlane | undefined;
  let client: grpc.Client | undefined;

  afterEach(async () => {
    client?.close();
    await plane?.stop();
  });

  async function start(append: (s: CaptureSession, t: readonly DebugTransaction[]) => Promise<number>) {
    plane = new XdsControlPlane({ log: silentLog });
    const service = new DebugCaptureService({
      registry: plane.registry,
      log: silentLog,
      sessions: () => index,
      store: { append },
    });
    plane.addService(service.definition(), service.implementation());
    const { xdsPort } = await plane.listen({ host: '127.0.0.1', xdsPort: 0 });
    plane.registry.connected('node-a', 'shop/edge/extproc');
    const Client = debugProtos().gatehouse.v1.DebugCaptureService;
    const c = new Client(`127.0.0.1:${xdsPort}`, grpc.credentials.createInsecure());
    client = c;
    return (req: DebugCaptureReport) =>
      new Promise<{ remaining?: number; code?: grpc.status; details?: string }>((resolve) =>
        c.Report(req, { deadline: Date.now() + 30_000 }, (err: grpc.ServiceError | null, ack?: DebugCaptureAck) =>
          resolve(err ? { code: err.code, details: err.details } : { remaining: ack?.remaining ?? 0 }),
        ),
      );
  }

  it('stores what a serving node reports, under the proxy of the session whatever the report says', async () => {
    const stored: DebugTransaction[] = [];
    const report = await start((_s, t) => {
      stored.push(...t);
      return Promise.resolve(1);
    });
    expect(
      await report({ nodeId: 'node-a', sessionId: 'uid-1', transactions: [{ requestId: 'r', proxy: 'other/x' }] }),
    ).toEqual({ remaining: 1 });
    expect(stored.map((t) => [t.requestId, t.proxy])).toEqual([['r', 'shop/orders']]);
    // An ended session wants nothing more: not an error.
    expect(await report({ nodeId: 'node-a', sessionId: 'uid-old', transactions: [{ requestId: 'r' }] })).toEqual({
      remaining: 0,
    });
  });

  it('refuses broken and hostile reports with a status naming the code, and a failing store is UNAVAILABLE', async () => {
    let fail = false;
    const report = await start(() => (fail ? Promise.reject(new Error('apiserver down')) : Promise.resolve(0)));
    const refused = async (req: DebugCaptureReport, code: grpc.status) => {
      const answer = await report(req);
      expect(answer.code).toBe(code);
      expect(answer.details).toContain('GH_ERR_DEBUG_CAPTURE_REFUSED');
    };
    await refused({ sessionId: 'uid-1', transactions: [] }, grpc.status.INVALID_ARGUMENT);
    await refused({ nodeId: 'node-a', transactions: [] }, grpc.status.INVALID_ARGUMENT);
    await refused({ nodeId: 'node-z', sessionId: 'uid-1', transactions: [] }, grpc.status.PERMISSION_DENIED);
    await refused({ nodeId: 'node-a', sessionId: 'nope', transactions: [] }, grpc.status.NOT_FOUND);
    await refused({ nodeId: 'node-a', sessionId: 'uid-1', transactions: [{}, {}, {}] }, grpc.status.INVALID_ARGUMENT);
    await refused(
      {
        nodeId: 'node-a',
        sessionId: 'uid-1',
        transactions: [{ points: [{ kind: 'PhaseStarted', messageBefore: { body: 'x'.repeat(5000) } }] }],
      },
      grpc.status.RESOURCE_EXHAUSTED,
    );
    plane!.registry.connected('node-b', 'other/edge/extproc');
    await refused({ nodeId: 'node-b', sessionId: 'uid-1', transactions: [] }, grpc.status.PERMISSION_DENIED);
    fail = true;
    const down = await report({ nodeId: 'node-a', sessionId: 'uid-1', transactions: [{ requestId: 'r' }] });
    expect(down.code).toBe(grpc.status.UNAVAILABLE);
    fail = false;
    // The server still serves.
    expect(await report({ nodeId: 'node-a', sessionId: 'uid-1', transactions: [] })).toEqual({ remaining: 0 });
  });
});
