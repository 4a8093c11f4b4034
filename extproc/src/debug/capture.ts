// Which transactions the debug sessions capture (docs/operations.md#debug-sessions). A transaction of a
// proxy with an active session is recorded from its request headers on when some session of it is not
// expired, has not reached its `count` on this replica, and was not told by the operator that it has
// enough (DebugCaptureAck.remaining 0). The session's filter is evaluated at the end of the transaction,
// on its flow variables, so that it may test the response (response.status.code >= 500) as well as the
// request; only then is the transaction kept, masked (mask.ts) and queued. At most `count` are kept per
// session on this replica, and at most maxInFlight are recorded at once per session.
import type * as grpc from '@grpc/grpc-js';
import type { Logger } from '../../../lib/log.ts';
import type { LoadedDebugSession } from '../config/snapshot.ts';
import type { VariableReader } from '../flow/conditions.ts';
import { maskTransaction, type RawTransaction } from './mask.ts';
import { TransactionRecorder } from './recorder.ts';
import type { ExtprocMetrics } from '../server/metrics.ts';
import { DebugReporter, type CaptureSink, type DropReason } from './reporter.ts';

export interface DebugCaptureOptions {
  sink: CaptureSink;
  now?: () => number;
  /** Transactions of one session recorded at once, at most (default 32). */
  maxInFlight?: number;
  onDrop?: (reason: DropReason, count: number) => void;
  onCaptured?: () => void;
}

class SessionState {
  kept = 0;
  inFlight = 0;
  /** What the operator last said it still wants, less what was queued since; undefined before it said. */
  remaining: number | undefined;
  expiresAtMs = 0;
}

/** One transaction being recorded, for the sessions it may be kept for. */
export interface Capture {
  readonly recorder: TransactionRecorder;
  readonly sessions: readonly LoadedDebugSession[];
}

export interface CaptureEnd {
  /** The flow variables (absent when the transaction ended before the flow ran). */
  variables: VariableReader | undefined;
  requestId: string;
  traceId: string;
  proxy: string;
  status: number;
  faultName: string;
  /** The snapshot's secrets (config/snapshot.ts DebugSessionIndex). */
  secrets: readonly string[];
  /** The request's Authorization-like header values (credentials the client presented). */
  presented: readonly string[];
}

const NO_VARIABLES: VariableReader = { get: () => undefined };

export class DebugCapture {
  private readonly states = new Map<string, SessionState>();
  private readonly sink: CaptureSink;
  private readonly now: () => number;
  private readonly maxInFlight: number;
  private readonly onDrop: (reason: DropReason, count: number) => void;
  private readonly onCaptured: () => void;

  constructor(options: DebugCaptureOptions) {
    this.sink = options.sink;
    this.now = options.now ?? Date.now;
    this.maxInFlight = options.maxInFlight ?? 32;
    this.onDrop = options.onDrop ?? (() => {});
    this.onCaptured = options.onCaptured ?? (() => {});
  }

  private state(session: LoadedDebugSession['session']): SessionState {
    let state = this.states.get(session.id);
    if (!state) {
      state = new SessionState();
      this.states.set(session.id, state);
    }
    state.expiresAtMs = Number(session.expiresAtMs);
    return state;
  }

  private wants(session: LoadedDebugSession['session'], state: SessionState, now: number): boolean {
    return (
      now < Number(session.expiresAtMs) &&
      state.kept < session.count &&
      (state.remaining === undefined || state.remaining > 0)
    );
  }

  /** A recorder when some session may keep this transaction; undefined otherwise (nothing is recorded). */
  begin(sessions: readonly LoadedDebugSession[]): Capture | undefined {
    const now = this.now();
    let chosen: LoadedDebugSession[] | undefined;
    for (const loaded of sessions) {
      const state = this.state(loaded.session);
      if (!this.wants(loaded.session, state, now) || state.inFlight >= this.maxInFlight) continue;
      state.inFlight++;
      (chosen ??= []).push(loaded);
    }
    this.prune(now);
    return chosen ? { recorder: new TransactionRecorder(now), sessions: chosen } : undefined;
  }

  /** The transaction is over: kept for each session whose filter holds and that still wants one. */
  end(capture: Capture, end: CaptureEnd): void {
    const now = this.now();
    const variables = end.variables ?? NO_VARIABLES;
    const { recorder } = capture;
    const raw: RawTransaction = {
      requestId: end.requestId,
      traceId: end.traceId,
      startedAtMs: recorder.startedAtMs,
      durationUs: Math.max(0, Math.round((now - recorder.startedAtMs) * 1000)),
      proxy: end.proxy,
      status: end.status,
      faultName: end.faultName,
      points: recorder.points,
    };
    for (const { session, filter } of capture.sessions) {
      const state = this.state(session);
      state.inFlight = Math.max(0, state.inFlight - 1);
      if (!this.wants(session, state, now)) continue;
      let matches: boolean;
      try {
        matches = filter(variables);
      } catch {
        matches = false;
      }
      if (!matches) continue;
      state.kept++;
      if (state.remaining !== undefined) state.remaining--;
      let transaction;
      try {
        transaction = maskTransaction(
          raw,
          {
            mask: session.mask,
            credentials: [...recorder.credentials, ...end.secrets, ...end.presented],
            credentialParams: recorder.credentialParams,
            credentialHeaders: recorder.credentialHeaders,
          },
          session.maxTransactionBytes,
        );
      } catch {
        // Never send what could not be masked.
        this.onDrop('mask_failed', 1);
        continue;
      }
      this.onCaptured();
      this.sink.enqueue(session.id, transaction);
    }
  }

  /** The operator's answer: 0 stops this replica capturing for the session. */
  ack(sessionId: string, remaining: number): void {
    const state = this.states.get(sessionId);
    if (state) state.remaining = remaining;
  }

  /** Forgets sessions past their expiry (their states would otherwise outlive them). */
  private prune(now: number): void {
    if (this.states.size < 64) return;
    for (const [id, state] of this.states) if (state.expiresAtMs <= now && state.inFlight === 0) this.states.delete(id);
  }
}

export interface DebugCaptureWiring {
  capture: DebugCapture;
  reporter: DebugReporter;
}

/** The capture and its reporter to the operator, counted in the server's metrics (main.ts, tests). */
export function startDebugCapture(options: {
  address: string;
  credentials?: grpc.ChannelCredentials;
  nodeId: string;
  metrics: ExtprocMetrics;
  log?: Pick<Logger, 'warn' | 'info'>;
  maxQueue?: number;
  timeoutMs?: number;
  now?: () => number;
}): DebugCaptureWiring {
  const { metrics } = options;
  const onDrop = (reason: DropReason, count: number) => metrics.debugCapturesDropped.inc({ reason }, count);
  // The capture queues on the reporter, and the reporter's acks reach the capture (each is called later).
  const capture: DebugCapture = new DebugCapture({
    sink: { enqueue: (sessionId, transaction) => reporter.enqueue(sessionId, transaction) },
    onDrop,
    onCaptured: () => metrics.debugCaptures.inc(),
    ...(options.now ? { now: options.now } : {}),
  });
  const reporter: DebugReporter = new DebugReporter({
    address: options.address,
    ...(options.credentials ? { credentials: options.credentials } : {}),
    nodeId: options.nodeId,
    ...(options.maxQueue !== undefined ? { maxQueue: options.maxQueue } : {}),
    ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
    onAck: (sessionId, remaining) => capture.ack(sessionId, remaining),
    onDrop,
    onSent: (count) => metrics.debugCapturesSent.inc(count),
    ...(options.log ? { log: options.log } : {}),
  });
  return { capture, reporter };
}
