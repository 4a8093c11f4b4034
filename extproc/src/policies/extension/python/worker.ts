// One thread of the Python pool (pool.ts, docs/policies.md#script-python): loads CPython compiled to
// WebAssembly (pyodide) once, from node_modules only, then runs Script policies one at a time. The
// sandbox is layered, because CPython itself is no sandbox: (1) Python never gets a handle on
// JavaScript (the `js` module is an empty object without a prototype, `pyodide_js` and the pyodide
// packages are unregistered and refused by an import hook); (2) an audit hook, which Python code cannot
// remove, refuses processes, sockets, ctypes and those imports; (3) what pyodide would reach in Node if
// both were bypassed is cut here before any script runs: child processes, sockets, `process`, `fetch`,
// and every way to compile JavaScript from a string; (4) the WebAssembly heap cannot grow past
// `maxMemoryMb`, so a memory bomb is a MemoryError, and the thread has no environment variables.
import { parentPort, workerData } from 'node:worker_threads';
import childProcess from 'node:child_process';
import dgram from 'node:dgram';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { createRequire } from 'node:module';
import type { PythonReply, PythonRequest, PythonWorkerData } from './protocol.ts';

const data = workerData as PythonWorkerData;
const port = parentPort!;
const interrupt = new Int32Array(data.interrupt);
const started = performance.now();

function refuse(what: string): () => never {
  return () => {
    throw new Error(`${what} is not available to Script policies`);
  };
}

/** Cuts what pyodide's Node glue reaches at call time (os.system, sockets), before any script runs. */
function cutHostAccess(): void {
  for (const name of Object.keys(childProcess)) {
    const member = (childProcess as unknown as Record<string, unknown>)[name];
    if (typeof member === 'function')
      (childProcess as unknown as Record<string, unknown>)[name] = refuse('child_process');
  }
  net.Socket.prototype.connect = refuse('a socket');
  net.connect = refuse('a socket');
  net.createConnection = refuse('a socket');
  net.createServer = refuse('a server');
  tls.connect = refuse('a socket');
  dgram.createSocket = refuse('a socket');
  http.request = refuse('http');
  https.request = refuse('https');
  for (const name of ['fetch', 'WebSocket', 'EventSource', 'XMLHttpRequest']) {
    Reflect.deleteProperty(globalThis, name);
  }
}

/** Removes every way to turn a string into JavaScript, and `process`, from the thread's realm. */
function cutCodeFromStrings(): void {
  const constructors = [
    function () {}.constructor,
    async function () {}.constructor,
    function* () {}.constructor,
    async function* () {}.constructor,
  ];
  for (const ctor of constructors) {
    Object.defineProperty((ctor as { prototype: object }).prototype, 'constructor', {
      value: refuse('Function'),
      writable: false,
      configurable: false,
    });
  }
  // `x instanceof Function` must still work (pyodide uses it): the stand-in keeps Function.prototype.
  const standIn = refuse('Function');
  Object.defineProperty(standIn, 'prototype', { value: Function.prototype, writable: false });
  Object.defineProperty(globalThis, 'Function', { value: standIn, writable: false, configurable: false });
  Object.defineProperty(globalThis, 'eval', { value: refuse('eval'), writable: false, configurable: false });
  Reflect.deleteProperty(globalThis, 'process');
  Reflect.deleteProperty(globalThis, 'require');
}

interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(this: WasmMemory, pages: number): number;
}

/** What this thread uses of pyodide's API (its own types are partly `any`). */
interface PyObject {
  get(name: string): unknown;
  toJs(options: object): unknown;
  destroy(): void;
}

interface Pyodide {
  setInterruptBuffer(buffer: Int32Array): void;
  unregisterJsModule(name: string): void;
  runPython(code: string, options: { globals: PyObject }): unknown;
  toPy(value: unknown): PyObject;
  globals: PyObject;
  _module: { HEAPU8: Uint8Array };
}

/** Bounds the WebAssembly heap: Emscripten grows it through Memory.grow and reads a failure as ENOMEM. */
function boundMemory(maxBytes: number): void {
  const { WebAssembly: wasm } = globalThis as unknown as { WebAssembly: { Memory: { prototype: WasmMemory } } };
  const grow = Reflect.get<WasmMemory, 'grow'>(wasm.Memory.prototype, 'grow');
  wasm.Memory.prototype.grow = function (this: WasmMemory, pages: number): number {
    if (this.buffer.byteLength + pages * 65536 > maxBytes) throw new RangeError('Script memory limit reached');
    return grow.call(this, pages);
  };
}

// Runs once, in a namespace of its own: the `flow` object, the import and audit hooks, the run loop.
const BOOTSTRAP = String.raw`
import sys, builtins
# Warm what scripts commonly import, so a script's first run does not pay for reading them from the zip.
import base64, binascii, collections, datetime, hashlib, hmac, json, math, random, re, string, time, urllib.parse, uuid

_BLOCKED = frozenset(${JSON.stringify([
  'js',
  'pyodide_js',
  'pyodide',
  '_pyodide',
  '_pyodide_core',
  'micropip',
  'pyodide_http',
  'ctypes',
  '_ctypes',
])})

def _blocked(name):
    return name.partition('.')[0] in _BLOCKED

# Loaded already, so an import would not ask the hooks below: forget them (pyodide keeps its own references).
for _name in list(sys.modules):
    if _blocked(_name):
        del sys.modules[_name]

class _Refuse:
    def find_spec(self, name, path=None, target=None):
        if _blocked(name):
            raise ImportError(f"module {name} is not available to Script policies")
        return None
sys.meta_path.insert(0, _Refuse())

_AUDIT_REFUSED = ('os.system', 'os.exec', 'os.spawn', 'os.posix_spawn', 'os.fork', 'os.forkpty', 'os.kill',
    'os.killpg', 'subprocess.Popen', 'socket.', 'ctypes.', 'os.add_dll_directory', 'sys.addaudithook',
    'code.__new__', 'sys.settrace', 'sys.setprofile', 'sys.monitoring', 'os.putenv', 'os.chdir', 'webbrowser.open')

def _audit(event, args):
    if event == 'import':
        if _blocked(args[0]):
            raise ImportError(f"module {args[0]} is not available to Script policies")
        return
    if event.startswith(_AUDIT_REFUSED):
        raise PermissionError(f"{event} is not available to Script policies")
sys.addaudithook(_audit)

_SCALARS = (str, bool, int, float, type(None))

class Flow:
    """Apigee's flow object: getVariable and setVariable (docs/policies.md#script-python)."""
    __slots__ = ('_values', '_changed')
    def __init__(self, values):
        self._values = values
        self._changed = {}
    def getVariable(self, name):
        return self._values.get(str(name))
    def setVariable(self, name, value):
        name = str(name)
        if not isinstance(value, _SCALARS):
            value = str(value)
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > 2**53:
            value = str(value)
        self._values[name] = value
        self._changed[name] = value
    def removeVariable(self, name):
        self.setVariable(name, None)

_compiled = {}
_MAX_COMPILED = 256

def compile_sources(key, sources):
    codes = [compile(code, name, 'exec') for name, code in sources]
    if len(_compiled) >= _MAX_COMPILED:
        _compiled.pop(next(iter(_compiled)))
    _compiled[key] = codes

def has(key):
    return key in _compiled

# Scripts of every tenant share this interpreter, one after another: what a run changes in builtins or
# in a module loaded before it (json.dumps = ..., a stash in a module's globals) is undone after it, and
# modules it loaded are forgotten, so no run sees another's values or patches.
_saved_builtins = dict(builtins.__dict__)
_saved_modules = {}

def snapshot_modules():
    _saved_modules.clear()
    for name, module in list(sys.modules.items()):
        namespace = getattr(module, '__dict__', None)
        if isinstance(namespace, dict):
            _saved_modules[name] = (module, dict(namespace))

def _restore():
    if builtins.__dict__ != _saved_builtins:
        builtins.__dict__.clear()
        builtins.__dict__.update(_saved_builtins)
    for name in [n for n in sys.modules if n not in _saved_modules]:
        del sys.modules[name]
    for name, (module, namespace) in _saved_modules.items():
        if sys.modules.get(name) is not module:
            sys.modules[name] = module
        current = module.__dict__
        if current != namespace:
            current.clear()
            current.update(namespace)

def run(key, values, properties):
    flow = Flow(dict(values))
    scope = {'__name__': '__main__', '__builtins__': builtins, 'flow': flow, 'properties': dict(properties)}
    try:
        for code in _compiled[key]:
            exec(code, scope)
        return dict(flow._changed)
    finally:
        scope.clear()
        flow._values.clear()
        flow._changed.clear()
        _restore()
`;

/** The line in the policy's own scripts (not the standard library's, under /lib) the traceback ends at. */
function lineOf(text: string): number | undefined {
  let line: number | undefined;
  for (const match of text.matchAll(/File "([^"]+)", line (\d+)/g)) {
    if (!match[1]!.startsWith('/') && !match[1]!.startsWith('<')) line = Number(match[2]);
  }
  return line;
}

async function main(): Promise<void> {
  boundMemory(data.maxMemoryMb * 1024 * 1024);
  // Before loading: pyodide then cannot fetch anything (no CDN), it reads its files from node_modules.
  cutHostAccess();
  const printed: string[] = [];
  let printedChars = 0;
  const print = (line: string): void => {
    if (printedChars > 16_384) return;
    printedChars += line.length;
    printed.push(line.slice(0, 4096));
  };
  // pyodide resolves its files next to its own module: node_modules only, never a CDN.
  const pyodideUrl = createRequire(import.meta.url).resolve('pyodide/pyodide.mjs');
  const { loadPyodide } = (await import(pyodideUrl)) as { loadPyodide: (o: object) => Promise<Pyodide> };
  const py = await loadPyodide({
    jsglobals: Object.create(null) as object,
    env: { HOME: '/home/pyodide' },
    stdout: print,
    stderr: print,
    packages: [],
  });
  py.setInterruptBuffer(interrupt);
  const ns = (py.globals.get('dict') as () => PyObject)();
  py.unregisterJsModule('pyodide_js');
  py.unregisterJsModule('js');
  py.runPython(BOOTSTRAP, { globals: ns });
  // The state every run starts from: taken after the hooks are in and the common modules loaded.
  (ns.get('snapshot_modules') as () => void)();
  const has = ns.get('has') as (key: string) => boolean;
  const compileSources = ns.get('compile_sources') as (key: string, sources: unknown) => void;
  const run = ns.get('run') as (key: string, values: unknown, properties: unknown) => PyObject;
  cutCodeFromStrings();

  port.on('message', (request: PythonRequest) => {
    printed.length = 0;
    printedChars = 0;
    Atomics.store(interrupt, 0, 0);
    let reply: PythonReply;
    try {
      if (!has(request.key)) {
        if (!request.sources) {
          reply = { kind: 'unknown', id: request.id };
          port.postMessage(reply);
          return;
        }
        compileSources(request.key, py.toPy(request.sources));
      }
      const values = py.toPy(request.values);
      const properties = py.toPy(request.properties);
      const changed = run(request.key, values, properties);
      const sets = changed.toJs({ dict_converter: Object.fromEntries }) as Record<string, unknown>;
      changed.destroy();
      values.destroy();
      properties.destroy();
      reply = { kind: 'done', id: request.id, sets, printed: [...printed], heapBytes: heapBytes(py) };
    } catch (error) {
      const text = error instanceof Error ? error.message : String(error);
      const interrupted = text.includes('KeyboardInterrupt');
      // Anything but a Python exception (a stack overflow in the interpreter, a fatal error) may have
      // left the runtime unusable: the pool replaces the thread.
      const pythonError = error instanceof Error && error.constructor.name === 'PythonError';
      reply = {
        kind: 'failed',
        id: request.id,
        reason: interrupted ? 'timeout' : 'error',
        ...(pythonError ? {} : { broken: true }),
        message: lastLine(text),
        ...(lineOf(text) !== undefined ? { line: lineOf(text)! } : {}),
        printed: [...printed],
        heapBytes: heapBytes(py),
      };
    }
    port.postMessage(reply);
  });
  port.postMessage({ kind: 'ready', startMs: performance.now() - started } satisfies PythonReply);
}

function heapBytes(py: Pyodide): number {
  return py._module.HEAPU8.length;
}

/** The exception of a traceback ("NameError: name 'x' is not defined"), its message lines joined, bounded. */
function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  let at = lines.length - 1;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (/^[A-Za-z_][\w.]*(Error|Exception|Exit|Interrupt)\b/.test(lines[i]!)) {
      at = i;
      break;
    }
  }
  return lines
    .slice(at)
    .map((l) => l.trim())
    .join(' ')
    .slice(0, 1024);
}

await main();
