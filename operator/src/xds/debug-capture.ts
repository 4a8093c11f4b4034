// gatehouse.v1.DebugCaptureService on the xDS port (docs/operations.md#debug-sessions): extproc reports
// the transactions it captured for a debug session. A report is taken only for a session the
// compiled snapshot holds as active, from a node with an ADS stream open on this replica whose
// DataPlane's view holds that session (over mutual TLS the client certificate must name that same
// DataPlane, as for ADS), within the session's count and max_transaction_bytes. The store keeps the
// first `count` transactions across replicas and says how many more the session wants.
import * as grpc from '@grpc/grpc-js';
import { GatehouseError } from '../../../lib/errors.ts';
import type { Logger } from '../../../lib/log.ts';
import type { Snapshot } from '../compile/compile.ts';
import { nodeDataPlane, uriSans } from './node-dataplane.ts';
import type { NodeRegistry } from './node-registry.ts';
import {
  debugProtos,
  debugTransactionBytes,
  type DebugCaptureAck,
  type DebugCaptureReport,
  type DebugTransaction,
} from './protos.ts';

/** An active session as the capture service checks reports against it. */
export interface CaptureSession {
  /** metadata.uid of the DebugSession. */
  id: string;
  namespace: string;
  name: string;
  proxy: string;
  count: number;
  maxTransactionBytes: number;
  /** "namespace/name" of the DataPlanes whose view holds it. */
  dataPlanes: ReadonlySet<string>;
}

/** The sessions of one compiled snapshot: the active ones by id, and ids of sessions that ended. */
export interface CaptureSessionIndex {
  active: ReadonlyMap<string, CaptureSession>;
  /** Ids of DebugSessions that exist but no longer capture (completed, expired, stopped). */
  ended: ReadonlySet<string>;
  /** The only view's DataPlane, when there is exactly one (a node of no DataPlane is served it). */
  onlyDataPlane?: string;
}

/** Where the accepted transactions go (kube: one Secret each, controllers/debug-captures.ts). */
export interface CaptureStore {
  /** Stores what fits in the session's count; resolves to how many more it wants. */
  append(session: CaptureSession, transactions: readonly DebugTransaction[]): Promise<number>;
}

/** The index of a compiled snapshot; `ended`: ids of the DebugSessions that exist but are not active. */
export function captureSessionIndex(snapshot: Snapshot, ended: Iterable<string> = []): CaptureSessionIndex {
  const active = new Map<string, CaptureSession>();
  for (const view of snapshot.dataPlanes) {
    for (const s of view.runtime.debugSessions ?? []) {
      if (!s.id) continue;
      const known = active.get(s.id);
      if (known) {
        (known.dataPlanes as Set<string>).add(view.dataPlane);
        continue;
      }
      active.set(s.id, {
        id: s.id,
        namespace: s.namespace ?? '',
        name: s.name ?? '',
        proxy: s.proxy ?? '',
        count: s.count ?? 0,
        maxTransactionBytes: s.maxTransactionBytes ?? 0,
        dataPlanes: new Set([view.dataPlane]),
      });
    }
  }
  return {
    active,
    ended: new Set([...ended].filter((id) => !active.has(id))),
    ...(snapshot.dataPlanes.length === 1 ? { onlyDataPlane: snapshot.dataPlanes[0]!.dataPlane } : {}),
  };
}

export interface DebugCaptureOptions {
  registry: Pick<NodeRegistry, 'get'>;
  log: Logger;
  /** The current index (the last compiled snapshot's); undefined before the first compile. */
  sessions: () => CaptureSessionIndex | undefined;
  store: CaptureStore;
  /** As the ADS server's: refuse TLS clients whose certificate names no DataPlane. */
  requireIdentity?: boolean;
}

/** A report the capture service refuses: answered with `status` and this message (GH_ERR_DEBUG_CAPTURE_REFUSED). */
export class DebugCaptureRefusedError extends GatehouseError {
  readonly status: grpc.status;

  constructor(status: grpc.status, message: string) {
    super('GH_ERR_DEBUG_CAPTURE_REFUSED', message);
    this.status = status;
  }
}

type ReportCall = grpc.ServerUnaryCall<DebugCaptureReport, DebugCaptureAck>;

export class DebugCaptureService {
  private readonly options: DebugCaptureOptions;

  constructor(options: DebugCaptureOptions) {
    this.options = options;
  }

  definition() {
    return debugProtos().gatehouse.v1.DebugCaptureService.service;
  }

  implementation(): grpc.UntypedServiceImplementation {
    return {
      Report: (call: ReportCall, callback: grpc.sendUnaryData<DebugCaptureAck>) => {
        this.report(call).then(
          (remaining) => callback(null, { remaining }),
          (err: unknown) => {
            if (err instanceof DebugCaptureRefusedError) {
              this.options.log.warn(
                { node: call.request.nodeId, session: call.request.sessionId, reason: err.message },
                'debug capture report refused',
              );
              callback({ code: err.status, details: `${err.message} [${err.code}]` });
              return;
            }
            this.options.log.error(
              { node: call.request.nodeId, session: call.request.sessionId, err: (err as Error).message },
              'debug capture report failed',
            );
            callback({
              code: grpc.status.UNAVAILABLE,
              details: `storing the capture failed: ${(err as Error).message}`,
            });
          },
        );
      },
    };
  }

  /** Checks a report and stores it; resolves to the session's remaining count, or throws DebugCaptureRefusedError. */
  private async report(call: ReportCall): Promise<number> {
    const { nodeId, sessionId, transactions } = call.request;
    if (!nodeId || !sessionId)
      throw new DebugCaptureRefusedError(grpc.status.INVALID_ARGUMENT, 'node_id and session_id are required');
    const node = this.options.registry.get(nodeId);
    if (!node)
      throw new DebugCaptureRefusedError(
        grpc.status.PERMISSION_DENIED,
        `node ${nodeId} has no xDS stream open on this operator`,
      );
    const peer = call.getAuthContext().sslPeerCertificate;
    const served = nodeDataPlane(
      node.cluster,
      peer ? uriSans(peer.subjectaltname) : undefined,
      peer !== undefined && this.options.requireIdentity === true,
    );
    if ('refused' in served) throw new DebugCaptureRefusedError(grpc.status.PERMISSION_DENIED, served.refused);
    const index = this.options.sessions();
    const session = index?.active.get(sessionId);
    if (!session) {
      // A session that ended (complete, expired, stopped) wants nothing more: not an error.
      if (index?.ended.has(sessionId)) return 0;
      throw new DebugCaptureRefusedError(grpc.status.NOT_FOUND, `no active debug session ${sessionId}`);
    }
    const dataPlane = served.dataPlane ?? index?.onlyDataPlane;
    if (dataPlane === undefined || !session.dataPlanes.has(dataPlane))
      throw new DebugCaptureRefusedError(
        grpc.status.PERMISSION_DENIED,
        `node ${nodeId} (DataPlane ${dataPlane ?? 'none'}) does not serve ${session.namespace}/${session.proxy}, the proxy of debug session ${session.namespace}/${session.name}`,
      );
    if (transactions.length > session.count)
      throw new DebugCaptureRefusedError(
        grpc.status.INVALID_ARGUMENT,
        `${transactions.length} transactions in one report; the session captures ${session.count}`,
      );
    transactions.forEach((t, i) => {
      const bytes = debugTransactionBytes(t);
      if (bytes > session.maxTransactionBytes)
        throw new DebugCaptureRefusedError(
          grpc.status.RESOURCE_EXHAUSTED,
          `transactions[${i}] is ${bytes} bytes; at most ${session.maxTransactionBytes}`,
        );
    });
    // What the proxy was is the session's, whatever the report says.
    return this.options.store.append(
      session,
      transactions.map((t) => ({ ...t, proxy: `${session.namespace}/${session.proxy}` })),
    );
  }
}
