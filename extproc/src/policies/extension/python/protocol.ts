// The messages between the Python pool (pool.ts) and its threads (worker.ts).

export interface PythonWorkerData {
  /** An Int32Array's buffer: the pool writes 2 (SIGINT) to stop a script that runs over its time limit. */
  interrupt: SharedArrayBuffer;
  /** The WebAssembly heap's bound, MiB. */
  maxMemoryMb: number;
}

/** A flow variable's value as the script sees it. */
export type PythonValue = string | number | boolean | null;

export interface PythonRequest {
  id: number;
  /** The scripts' identity (a hash of their names and text): compiled once per thread. */
  key: string;
  /** The scripts in order (includes first, the resource last); sent only to a thread that lacks `key`. */
  sources?: Array<[name: string, code: string]>;
  /** The flow variables the script reads, copied in. */
  values: Record<string, PythonValue>;
  properties: Record<string, string>;
}

export type PythonReply =
  | { kind: 'ready'; startMs: number }
  /** The thread has not compiled `key` and no sources came: send again with them. */
  | { kind: 'unknown'; id: number }
  | { kind: 'done'; id: number; sets: Record<string, unknown>; printed: string[]; heapBytes: number }
  | {
      kind: 'failed';
      id: number;
      reason: 'timeout' | 'error';
      message: string;
      line?: number;
      /** The runtime may be unusable after this failure: the thread is replaced. */
      broken?: boolean;
      printed: string[];
      heapBytes: number;
    };
