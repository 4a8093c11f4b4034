// The object model's calls from a script to the flow it runs in (docs/policies.md#javascript). A script
// runs on a pool worker, but the flow variables and messages live on the event loop's thread and are
// read live (a getVariable sees what the previous step set, a header set is the message's own change).
// So each call crosses threads synchronously: the worker writes the call into a SharedArrayBuffer and
// blocks in Atomics.wait; the event loop, waiting with Atomics.waitAsync (never blocking), runs the call
// against the real Variables and messages and writes the answer back. When the task runs inline (no pool,
// or tests), the same calls go straight to the host registered under the run's id.
import { GatehouseError } from '../../../../../lib/errors.ts';

/**
 * One object-model call: an operation name and JSON arguments, answered with a JSON value, or a promise
 * of one (httpClient's waitForComplete: the event loop answers when the call completes, never blocking).
 */
export type HostCall = (op: string, args: unknown[]) => unknown;

/** A call the host refused (a bad argument, a change Envoy would not apply): the script sees an Error. */
export class HostCallError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_JAVASCRIPT_HOST_CALL', message);
  }
}

const IDLE = 0;
const CALL = 1;
const REPLY = 2;
const CLOSED = 3;
/** state, payload length; the payload follows. */
const HEADER_BYTES = 16;
const INITIAL_BYTES = 64 * 1024;
/** The largest call or answer (a body the script reads or writes): the body bound, with room for JSON. */
export const MAX_CHANNEL_BYTES = 32 * 1024 * 1024;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

type Reply = { v: unknown } | { e: string };

function write(buffer: SharedArrayBuffer, text: string): void {
  const bytes = encoder.encode(text);
  if (HEADER_BYTES + bytes.length > buffer.maxByteLength) {
    throw new HostCallError(`the value is larger than ${buffer.maxByteLength - HEADER_BYTES} bytes`);
  }
  if (HEADER_BYTES + bytes.length > buffer.byteLength) buffer.grow(HEADER_BYTES + bytes.length);
  new Uint8Array(buffer, HEADER_BYTES, bytes.length).set(bytes);
  new Int32Array(buffer, 0, 2)[1] = bytes.length;
}

function read(buffer: SharedArrayBuffer): string {
  const length = new Int32Array(buffer, 0, 2)[1]!;
  // TextDecoder refuses views of shared memory: copy out first.
  return decoder.decode(new Uint8Array(buffer, HEADER_BYTES, length).slice());
}

/** Hosts of runs that may execute on this thread (the inline path), by run id. */
const localHosts = new Map<number, HostCall>();
let nextRunId = 1;

/**
 * The event loop's side of one run: registers `host` for the inline path and answers the worker's calls
 * until closed. Close it when the task settles (done, failed or killed over budget).
 */
export class HostChannel {
  readonly id = nextRunId++;
  readonly buffer = new SharedArrayBuffer(INITIAL_BYTES, { maxByteLength: MAX_CHANNEL_BYTES });
  private readonly state = new Int32Array(this.buffer, 0, 2);
  private readonly host: HostCall;

  constructor(host: HostCall) {
    this.host = host;
    localHosts.set(this.id, host);
    void this.serve();
  }

  private closed = false;

  close(): void {
    this.closed = true;
    localHosts.delete(this.id);
    Atomics.store(this.state, 0, CLOSED);
    Atomics.notify(this.state, 0);
  }

  private async serve(): Promise<void> {
    for (;;) {
      const state = Atomics.load(this.state, 0);
      if (state === CLOSED) return;
      if (state === CALL) {
        await this.answer();
        continue;
      }
      const wait = Atomics.waitAsync(this.state, 0, state);
      if (wait.async) await wait.value;
    }
  }

  private async answer(): Promise<void> {
    let reply: string;
    try {
      const [op, args] = JSON.parse(read(this.buffer)) as [string, unknown[]];
      reply = JSON.stringify({ v: (await this.host(op, args)) ?? null } satisfies Reply);
    } catch (error) {
      reply = JSON.stringify({ e: error instanceof Error ? error.message : String(error) } satisfies Reply);
    }
    try {
      write(this.buffer, reply);
    } catch (error) {
      write(this.buffer, JSON.stringify({ e: (error as Error).message } satisfies Reply));
    }
    // The run may have ended while an answer was awaited: CLOSED stays.
    if (this.closed) return;
    Atomics.store(this.state, 0, REPLY);
    Atomics.notify(this.state, 0);
  }
}

/**
 * The script's side: the host registered on this thread (inline), else calls across the channel that
 * block until answered, or until `deadline` (performance.now()) has passed.
 */
export function hostFor(runId: number, buffer: SharedArrayBuffer, deadline: () => number): HostCall {
  const local = localHosts.get(runId);
  if (local) return local;
  const state = new Int32Array(buffer, 0, 2);
  // After a call went unanswered, its late answer could be taken for the next call's: none is made.
  let unanswered = false;
  return (op, args) => {
    if (unanswered) throw new HostCallError('the flow did not answer in time');
    if (Atomics.load(state, 0) === CLOSED) throw new HostCallError('the flow is gone');
    write(buffer, JSON.stringify([op, args]));
    Atomics.store(state, 0, CALL);
    Atomics.notify(state, 0);
    while (Atomics.load(state, 0) === CALL) {
      const left = deadline() - performance.now();
      if (left <= 0 || Atomics.wait(state, 0, CALL, left) === 'timed-out') {
        unanswered = true;
        throw new HostCallError('the flow did not answer in time');
      }
    }
    if (Atomics.load(state, 0) === CLOSED) throw new HostCallError('the flow is gone');
    const reply = JSON.parse(read(buffer)) as Reply;
    Atomics.store(state, 0, IDLE);
    if ('e' in reply) throw new HostCallError(reply.e);
    return reply.v;
  };
}
