// The QuickJS sandbox the JavaScript policy runs scripts in (docs/policies.md#javascript): QuickJS
// compiled to WebAssembly (quickjs-emscripten, release sync build). A script sees only what the
// prelude (prelude.ts) builds from one host function: no require, process, filesystem, network or
// timers exist in the engine at all (QuickJS without its std/os modules). Per thread one QuickJS runtime
// is kept with the memory and stack limits set, and every run gets a fresh context (so nothing a script
// leaves in its globals, or a promise job it queued, reaches the next run, another tenant's or not;
// a context with the object model costs about 3 ms, so the next one is built between runs, off the
// request's path: npm run bench:javascript); a run that ended abnormally
// (over time, out of memory, stack overflow) leaves the runtime usable; only a failure of the engine itself
// (an abort inside the WebAssembly module) throws the module away. CPU time is bounded by the
// interrupt handler QuickJS calls while it runs; time blocked in host calls waiting for the event loop
// does not count (the worker pool's phase budget bounds it), but waiting for an httpClient call does.
import { createHash } from 'node:crypto';
import variant from '@jitl/quickjs-wasmfile-release-sync';
import {
  DefaultIntrinsics,
  newQuickJSWASMModuleFromVariant,
  type QuickJSContext,
  type QuickJSHandle,
  type QuickJSRuntime,
  type QuickJSWASMModule,
} from 'quickjs-emscripten-core';
import type { HostCall } from './bridge.ts';
import { PRELUDE } from './prelude.ts';

/** Heap of one run, bytes: what QuickJS may allocate before the script fails with out of memory. */
export const MEMORY_LIMIT_BYTES = 32 * 1024 * 1024;
/**
 * Stack of one run, bytes: deep recursion fails with QuickJS's own "stack overflow" (about 1,300 frames)
 * before it reaches the end of the WebAssembly stack, which at 512 KiB it did (a host RangeError that
 * leaves the module unusable).
 */
export const STACK_LIMIT_BYTES = 256 * 1024;
/** What print keeps per run, characters; the rest is cut (a script printing in a loop costs nothing more). */
export const MAX_PRINT_CHARS = 16 * 1024;
/**
 * What a script's engine has: QuickJS's defaults without typed arrays. ArrayBuffer, DataView and the
 * typed arrays allocate outside the runtime's memory limit in this build (nine 4 MiB Uint8Arrays passed
 * a 32 MiB limit; a loop of them grew the WebAssembly heap for seconds until it was exhausted).
 */
const INTRINSICS = { ...DefaultIntrinsics, TypedArrays: false };
/** Promise jobs run after the script, at most: a job that queues another forever ends here or at the time limit. */
const MAX_PENDING_JOBS = 10_000;

export interface ScriptSource {
  /** The name in stack traces and fault strings: the jsc:// resource's name. */
  name: string;
  source: string;
}

export interface SandboxRun {
  scripts: ScriptSource[];
  timeLimitMs: number;
  /** context.flow */
  flow: string;
  properties: Record<string, string>;
}

export type SandboxOutcome =
  | { ok: true; print: string }
  | { ok: false; kind: 'error' | 'timeout' | 'memory' | 'stack'; message: string; print: string };

// The package's types describe its CommonJS build; under ESM its default export is the variant itself.
let loading: Promise<QuickJSWASMModule> | undefined;
let quickjs: QuickJSWASMModule | undefined;

/** The QuickJS module of this thread, loaded once (WebAssembly instantiation is asynchronous). */
export function loadQuickJS(): QuickJSWASMModule | Promise<QuickJSWASMModule> {
  if (quickjs) return quickjs;
  loading ??= newQuickJSWASMModuleFromVariant(
    variant as unknown as Parameters<typeof newQuickJSWASMModuleFromVariant>[0],
  ).then((module) => (quickjs = module));
  return loading;
}

let pooled: QuickJSRuntime | undefined;

function runtime(module: QuickJSWASMModule): QuickJSRuntime {
  if (!pooled) {
    pooled = module.newRuntime();
    pooled.setMemoryLimit(MEMORY_LIMIT_BYTES);
    pooled.setMaxStackSize(STACK_LIMIT_BYTES);
  }
  return pooled;
}

/**
 * Drops this thread's QuickJS instance after the engine itself failed (an abort inside the module, a
 * context that would not free): its state is unknown, so the next run loads a fresh WebAssembly instance.
 */
function discardModule(): void {
  pooled = undefined;
  spare = undefined;
  quickjs = undefined;
  loading = undefined;
}

const LOCAL_HASHES = new Set(['sha1', 'sha256', 'sha512', 'md5']);

interface ScriptError {
  name?: string;
  message?: string;
  stack?: string;
}

/** "name:line" of the innermost frame in one of the policy's scripts, if any. */
function scriptLine(error: ScriptError, scripts: readonly ScriptSource[]): string | undefined {
  for (const match of (error.stack ?? '').matchAll(/\(([^():\s]+):(\d+)(?::\d+)?\)|at ([^():\s]+):(\d+)/g)) {
    const file = match[1] ?? match[3];
    if (scripts.some((s) => s.name === file)) return `${file}:${match[2] ?? match[4]}`;
  }
  return undefined;
}

function classify(
  error: unknown,
  scripts: readonly ScriptSource[],
  timedOut: boolean,
): Omit<Extract<SandboxOutcome, { ok: false }>, 'print' | 'ok'> {
  if (timedOut) return { kind: 'timeout', message: 'interrupted' };
  // QuickJS reports an allocation refused by the memory limit as a thrown null.
  if (error === null) return { kind: 'memory', message: 'InternalError: out of memory' };
  const e: ScriptError = typeof error === 'object' ? error : { message: JSON.stringify(error) };
  const message = `${e.name ?? 'Error'}: ${e.message ?? ''}`;
  if (e.name === 'InternalError' && /out of memory/i.test(e.message ?? '')) return { kind: 'memory', message };
  if (/stack overflow|call stack size/i.test(e.message ?? '')) return { kind: 'stack', message };
  const line = scriptLine(e, scripts);
  return { kind: 'error', message: line ? `${message} (${line})` : message };
}

/** The run a context's host function answers for, and its clock. One run at a time per thread. */
interface ActiveRun {
  deadline: number;
  timedOut: boolean;
  local(op: string, args: unknown[]): unknown;
}

let active: ActiveRun | undefined;

/** A fresh context with the object model loaded, not yet used by any run. */
let spare: { module: QuickJSWASMModule; vm: QuickJSContext } | undefined;
let spareScheduled = false;

/**
 * A fresh context with the prelude evaluated: its host function answers whichever run is active. Building
 * one (a context, then parsing and running the prelude) is most of a small script's cost, so the next
 * one is built after a run returns (setImmediate), off the request's path; a run finds it ready.
 */
function prepareContext(module: QuickJSWASMModule): QuickJSContext {
  const vm = runtime(module).newContext({ intrinsics: INTRINSICS });
  try {
    const hostFunction = vm.newFunction('__gh', (opHandle: QuickJSHandle, argsHandle: QuickJSHandle) => {
      let reply: string;
      try {
        if (!active) throw new Error('no run is active');
        const args: unknown = JSON.parse(vm.getString(argsHandle));
        reply = JSON.stringify({ v: active.local(vm.getString(opHandle), Array.isArray(args) ? args : []) ?? null });
      } catch (error) {
        reply = JSON.stringify({ e: error instanceof Error ? error.message : String(error) });
      }
      return vm.newString(reply);
    });
    vm.setProp(vm.global, '__gh', hostFunction);
    hostFunction.dispose();
    const prelude = vm.evalCode(PRELUDE, 'gatehouse:prelude');
    if (prelude.error) {
      prelude.error.dispose();
      throw new Error('the object model did not load');
    }
    prelude.value.dispose();
    return vm;
  } catch (error) {
    vm.dispose();
    throw error;
  }
}

function takeContext(module: QuickJSWASMModule): QuickJSContext {
  const ready = spare;
  spare = undefined;
  if (ready?.module === module) return ready.vm;
  ready?.vm.dispose();
  return prepareContext(module);
}

function scheduleSpare(module: QuickJSWASMModule): void {
  if (spare || spareScheduled) return;
  spareScheduled = true;
  setImmediate(() => {
    spareScheduled = false;
    if (spare || quickjs !== module) return;
    try {
      spare = { module, vm: prepareContext(module) };
    } catch {
      // The next run builds its own and reports what failed.
    }
  }).unref();
}

/**
 * Runs the scripts (includes first, then the resource) in a fresh context of this thread's runtime, with
 * `host` answering the object model's calls. Never throws for anything a script does.
 */
export function runInSandbox(module: QuickJSWASMModule, run: SandboxRun, host: HostCall): SandboxOutcome {
  const rt = runtime(module);
  let printed = '';
  // The clock starts with the policy's scripts: a fresh context and the prelude are Gatehouse's cost (and
  // on a worker's first run, with the engine still cold, they alone took longer than a 200 ms timeLimit).
  const state: ActiveRun = {
    deadline: Infinity,
    timedOut: false,
    local: (op, args) => {
      switch (op) {
        case 'flow':
          return run.flow;
        case 'properties':
          return run.properties;
        case 'print': {
          if (printed.length < MAX_PRINT_CHARS) {
            printed += `${printed ? '\n' : ''}${String(args[0])}`.slice(0, MAX_PRINT_CHARS - printed.length);
          }
          return printed.length < MAX_PRINT_CHARS;
        }
        case 'hash': {
          const [algorithm, data, encoding] = args;
          if (typeof algorithm !== 'string' || !LOCAL_HASHES.has(algorithm) || typeof data !== 'string') {
            throw new Error('bad hash arguments');
          }
          return createHash(algorithm)
            .update(data, 'utf8')
            .digest(encoding === 'base64' ? 'base64' : 'hex');
        }
        case 'http.wait': {
          // Waiting for an httpClient call is wall time the script spends (as in Apigee): the deadline
          // stays, and the host waits no longer than what is left of it (docs/policies.md#javascript).
          const asked = performance.now();
          if (asked >= state.deadline) state.timedOut = true;
          if (state.timedOut) throw new Error('interrupted');
          const left = Math.ceil(state.deadline - asked);
          const wait = typeof args[1] === 'number' && args[1] >= 0 ? Math.min(args[1], left) : left;
          const answer = host(op, [args[0], wait]);
          // A wait cut by the time limit that ended without the answer is over time, even if the event
          // loop's timer fired a little early (it counts from the loop's cached clock).
          const cut = wait >= left && !(answer instanceof Promise) && !(answer as { complete?: boolean }).complete;
          if (cut || performance.now() >= state.deadline) {
            state.timedOut = true;
            throw new Error('interrupted');
          }
          // Inline (no worker pool) the event loop cannot be waited for: the call is reported incomplete.
          return answer instanceof Promise ? null : answer;
        }
        default: {
          const asked = performance.now();
          if (asked >= state.deadline) state.timedOut = true;
          if (state.timedOut) throw new Error('interrupted');
          // Time waiting for a busy event loop to answer is not the script's: it moves the deadline
          // (under load a 20-line script otherwise failed its 200 ms); the pool's phase budget bounds it.
          try {
            // An httpClient call may take no longer than what is left of the time limit.
            return host(op, op === 'http.send' ? [...args, Math.max(1, Math.ceil(state.deadline - asked))] : args);
          } finally {
            state.deadline += performance.now() - asked;
          }
        }
      }
    },
  };
  rt.setInterruptHandler(() => {
    if (performance.now() < state.deadline) return false;
    state.timedOut = true;
    return true;
  });
  let vm: QuickJSContext | undefined;
  let broken = false;
  try {
    vm = takeContext(module);
    active = state;
    state.deadline = performance.now() + run.timeLimitMs;
    for (const { name, source } of run.scripts) {
      const result = vm.evalCode(source, name);
      if (result.error) {
        const error: unknown = vm.dump(result.error);
        result.error.dispose();
        return { ok: false, ...classify(error, run.scripts, state.timedOut), print: printed };
      }
      result.value.dispose();
    }
    // httpClient callbacks of calls still pending run now, each when its call completes (prelude.ts).
    const callbacks = vm.evalCode('globalThis.__ghCallbacks()', 'gatehouse:callbacks');
    if (callbacks.error) {
      const error: unknown = vm.dump(callbacks.error);
      callbacks.error.dispose();
      return { ok: false, ...classify(error, run.scripts, state.timedOut), print: printed };
    }
    callbacks.value.dispose();
    // Promise jobs the script queued run now, within the same time limit; none survives the run.
    const jobs = rt.executePendingJobs(MAX_PENDING_JOBS);
    if (jobs.error) {
      const error: unknown = vm.dump(jobs.error);
      jobs.error.dispose();
      return { ok: false, ...classify(error, run.scripts, state.timedOut), print: printed };
    }
    // A script that caught the error its time running out raised still ran out of time.
    if (state.timedOut) return { ok: false, ...classify(undefined, run.scripts, true), print: printed };
    return { ok: true, print: printed };
  } catch (error) {
    // The engine itself failed (an abort inside the module): a fresh instance takes its place.
    broken = true;
    return { ok: false, kind: state.timedOut ? 'timeout' : 'memory', message: String(error), print: printed };
  } finally {
    active = undefined;
    rt.setInterruptHandler(() => false);
    // The context goes with everything the script made, promise jobs still queued included; QuickJS
    // frees the memory of a context stopped by the interrupt, the memory limit or the stack limit.
    try {
      vm?.dispose();
    } catch {
      broken = true;
    }
    if (broken) discardModule();
    else scheduleSpare(module);
  }
}
