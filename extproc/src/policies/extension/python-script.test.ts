// Script (Python) on real pyodide threads: Apigee's model, its fault, and a sandbox held against
// hostile scripts (docs/policies.md#script-python). One pool for the file: each thread takes seconds to load.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import type { PolicyStep } from '../../flow/types.ts';
import { PolicyConfigError } from '../support.ts';
import { pythonScriptPolicy, variablesRead } from './python-script.ts';
import { closePythonPool, configurePythonPool, PythonPool, pythonPool } from './python/pool.ts';

const meta = { namespace: 'shop', name: 'Python-1' };

/** A step; its time limit is generous unless a test sets one, so a busy machine fails no test by time. */
function step(source: string, extra: Record<string, unknown> = {}): PolicyStep {
  return pythonScriptPolicy.create({ resourceURL: 'py://myscript.py', source, timeLimit: 20_000, ...extra }, meta);
}

async function fault(run: unknown): Promise<PolicyFault> {
  try {
    await run;
  } catch (error) {
    if (error instanceof PolicyFault) return error;
    throw error;
  }
  throw new Error('the script did not fail');
}

/** Runs a script and returns what it set through flow.setVariable (as the variable `out`). */
async function out(source: string): Promise<unknown> {
  const ctx = makePolicyContext();
  await step(source)(ctx);
  return ctx.variables.get('out');
}

describe('Script (Python)', () => {
  beforeAll(async () => {
    // A thread replaced after a bomb takes seconds to load on a busy machine: runs here wait for one (the
    // 503 a request gets when none is ready in time is the last test's, on a pool of its own).
    configurePythonPool({ size: 2, graceMs: 200, waitMs: 180_000 });
    pythonPool();
    // Loading pyodide takes seconds (more on a busy machine): wait for it, never a fixed sleep.
    await pythonPool().ready();
  }, 180_000);
  afterAll(() => closePythonPool());

  it("runs Apigee's model: flow.getVariable, flow.setVariable, properties, includes first", async () => {
    const ctx = makePolicyContext({ headers: { 'x-user': 'ada' }, query: 'id=7' });
    const run = pythonScriptPolicy.create(
      {
        resourceURL: 'py://main.py',
        includes: [{ resourceURL: 'py://lib.py', source: 'def greet(n):\n    return "hello " + n\n' }],
        source: [
          'import base64',
          'user = flow.getVariable("request.header.x-user")',
          "flow.setVariable('request.header.x-greeting', greet(user))",
          "flow.setVariable('greeting.encoded', base64.b64encode(greet(user).encode()).decode())",
          "flow.setVariable('tier', properties['tier'])",
          "flow.setVariable('id.plus', int(flow.getVariable('request.queryparam.id')) + 1)",
          "flow.setVariable('missing', flow.getVariable('no.such.variable') is None)",
          'print("debug line")',
        ].join('\n'),
        properties: { tier: 'gold' },
        timeLimit: 20_000,
      },
      meta,
    );
    await run(ctx);
    expect(ctx.request.headers.get('x-greeting')).toBe('hello ada');
    expect(ctx.variables.get('greeting.encoded')).toBe(Buffer.from('hello ada').toString('base64'));
    expect(ctx.variables.get('tier')).toBe('gold');
    expect(ctx.variables.get('id.plus')).toBe(8);
    expect(ctx.variables.get('missing')).toBe(true);
  });

  it('reads and replaces the request content through request.content', async () => {
    const ctx = makePolicyContext({ method: 'POST', body: { n: 1 } });
    await step(
      'import json\nbody = json.loads(flow.getVariable("request.content"))\nbody["n"] += 1\nflow.setVariable("request.content", json.dumps(body))',
    )(ctx);
    expect(JSON.parse(ctx.request.body.text())).toEqual({ n: 2 });
  });

  it("answers an exception with Apigee's steps.script.ScriptEvaluationFailed, naming the error and line", async () => {
    const failed = await fault(step('x = 1\nraise ValueError("bad input")')(makePolicyContext()));
    expect(failed).toMatchObject({ status: 500, errorCode: 'steps.script.ScriptEvaluationFailed' });
    expect(failed.message).toBe(
      'Evaluation of script myscript.py (py) failed with reason: "ValueError: bad input (line 2)"',
    );
    const syntax = await fault(step('def f(:\n  pass')(makePolicyContext()));
    expect(syntax.message).toMatch(/SyntaxError/);
    const name = await fault(step('flow.setVariable("x", num3)')(makePolicyContext()));
    expect(name.message).toMatch(/NameError: name 'num3' is not defined/);
  });

  it('refuses a bad config at create, naming the field', () => {
    expect(() => pythonScriptPolicy.create({ resourceURL: 'py://a.py', source: 'x\0' }, meta)).toThrow(
      PolicyConfigError,
    );
    expect(() => pythonScriptPolicy.create({ resourceURL: 'py://a.py', source: 'x\0' }, meta)).toThrow(
      /script\.source/,
    );
  });

  it('finds the variables a script reads by name', () => {
    expect(
      variablesRead(['a = flow.getVariable("request.header.x")\nb = flow.getVariable( \'y\' )\nflow.getVariable(n)']),
    ).toEqual(['request.header.x', 'y']);
  });

  describe('hostile scripts', () => {
    let server: Server;
    let connections = 0;
    beforeAll(async () => {
      server = createServer((socket) => {
        connections++;
        socket.destroy();
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('cannot reach JavaScript: js, pyodide_js, pyodide.code and pyodide.ffi are refused', async () => {
      for (const source of [
        'import js',
        'import pyodide_js',
        'from pyodide.code import run_js',
        'import pyodide.ffi',
        'import micropip',
        'import ctypes',
      ]) {
        const failed = await fault(step(source)(makePolicyContext()));
        expect(failed.message, source).toMatch(/ImportError: module \S+ is not available to Script policies/);
      }
    });

    it('loads no package: only the standard library is there, and nothing is fetched', async () => {
      for (const source of ['import numpy', 'import requests', 'import micropip']) {
        const failed = await fault(step(source)(makePolicyContext()));
        expect(failed.message, source).toMatch(/ModuleNotFoundError|ImportError/);
      }
    });

    it('finds no JavaScript object in the heap, and a JavaScript evaluator found there evaluates nothing', async () => {
      const found = await out(
        [
          'import gc',
          "proxies = [o for o in gc.get_objects() if type(o).__name__ in ('JsProxy', 'JsCallable', 'JsDoubleProxy') or type(o).__name__.startswith('JsProxy')]",
          "runners = [o for o in gc.get_objects() if callable(o) and getattr(o, '__name__', '') in ('run_js', 'eval_js')]",
          'results = []',
          'for r in runners:',
          '    try:',
          "        results.append(str(r('typeof process')))",
          '    except BaseException as e:',
          "        results.append('refused')",
          "flow.setVariable('out', str(len(proxies)) + ':' + ','.join(results))",
        ].join('\n'),
      );
      const [proxies, results] = String(found).split(':');
      expect(proxies).toBe('0');
      for (const result of (results ?? '').split(',').filter(Boolean)) expect(result).toBe('refused');
    });

    it('cannot run a process or open a socket', async () => {
      expect((await fault(step('import os\nos.system("touch /tmp/pwned")')(makePolicyContext()))).message).toMatch(
        /PermissionError: os.system/,
      );
      expect((await fault(step('import subprocess\nsubprocess.run(["id"])')(makePolicyContext()))).message).toMatch(
        /PermissionError|OSError|not supported/,
      );
      const port = (server.address() as { port: number }).port;
      const socket = await fault(
        step(`import socket\ns = socket.socket()\ns.connect(("127.0.0.1", ${port}))`)(makePolicyContext()),
      );
      expect(socket.message).toMatch(/PermissionError: socket/);
      expect(connections).toBe(0);
    });

    it("cannot read the host's files", async () => {
      const dir = mkdtempSync(join(tmpdir(), 'gatehouse-py-'));
      const secret = join(dir, 'secret.txt');
      writeFileSync(secret, 'host-secret-marker');
      for (const path of [secret, '/etc/passwd', '/proc/self/environ']) {
        const result = await out(
          `try:\n    flow.setVariable("out", open(${JSON.stringify(path)}).read())\nexcept OSError as e:\n    flow.setVariable("out", "refused")`,
        );
        expect(result, path).toBe('refused');
      }
      // The thread has no environment of the host's: only the names pyodide sets itself.
      const names = String(await out('import os\nflow.setVariable("out", ",".join(sorted(os.environ)))')).split(',');
      const pyodideDefaults = [
        'HOME',
        'LANG',
        'LD_LIBRARY_PATH',
        'LOGNAME',
        'PATH',
        'PWD',
        'PYTHONINSPECT',
        'USER',
        '_',
      ];
      for (const name of names) expect(pyodideDefaults, name).toContain(name);
    });

    it('stops an endless loop at the time limit, and the next request runs', async () => {
      const failed = await fault(step('while True: pass', { timeLimit: 200 })(makePolicyContext()));
      expect(failed.errorCode).toBe('steps.script.ScriptEvaluationFailed');
      expect(failed.message).toMatch(/timeLimit of 200 ms/);
      expect(await out('flow.setVariable("out", "alive")')).toBe('alive');
      // A loop in C code (a regular expression backtracking) is interrupted as well.
      expect(
        (await fault(step('import re\nre.match("(a*)*b", "a" * 40)', { timeLimit: 200 })(makePolicyContext()))).message,
      ).toMatch(/timeLimit/);
    });

    it('answers a memory bomb with a fault, and the next request runs', async () => {
      const failed = await fault(
        step('x = []\nwhile True: x.append("y" * 1000000)', { timeLimit: 30_000 })(makePolicyContext()),
      );
      expect(failed.message).toMatch(/MemoryError/);
      const huge = await fault(step('x = "a" * (4 * 1024 * 1024 * 1024)')(makePolicyContext()));
      expect(huge.message).toMatch(/MemoryError|OverflowError/);
      expect(await out('flow.setVariable("out", "alive")')).toBe('alive');
    });

    it('answers a recursion bomb with a fault, and the next request runs', async () => {
      const failed = await fault(
        step('import sys\nsys.setrecursionlimit(10**7)\ndef f(n):\n    return f(n + 1)\nf(0)', { timeLimit: 30_000 })(
          makePolicyContext(),
        ),
      );
      expect(failed.errorCode).toBe('steps.script.ScriptEvaluationFailed');
      expect(await out('flow.setVariable("out", "alive")')).toBe('alive');
    });

    it('leaves nothing for the next run: builtins, modules and their globals are restored after each', async () => {
      await step(
        [
          'import builtins, json, colorsys',
          'json.dumps = lambda *a, **k: "patched"',
          'json.stash = flow.getVariable("request.header.authorization")',
          'colorsys.stash = "left"',
          'builtins.len = lambda x: 42',
        ].join('\n'),
      )(makePolicyContext({ headers: { authorization: 'Bearer tenant-a-secret' } }));
      // Both threads, so whichever ran the first script runs one of these.
      for (let i = 0; i < 4; i++) {
        expect(
          await out(
            [
              'import json, sys, colorsys',
              'seen = [len([1]), json.dumps(1), getattr(json, "stash", None), getattr(colorsys, "stash", None)]',
              'flow.setVariable("out", repr(seen))',
            ].join('\n'),
          ),
        ).toBe("[1, '1', None, None]");
      }
    });

    it('cannot start threads', async () => {
      const failed = await fault(step('import threading\nthreading.Thread(target=print).start()')(makePolicyContext()));
      expect(failed.message).toMatch(/can't start new thread/);
    });
  });

  it('answers 503 rather than hanging when no thread is ready within the wait', async () => {
    const cold = new PythonPool({
      size: 1,
      queueLimit: 1,
      maxMemoryMb: 64,
      recycleHeapMb: 64,
      graceMs: 100,
      waitMs: 20,
    });
    try {
      const run = {
        key: 'k',
        sources: [['a.py', 'pass']] as Array<[string, string]>,
        values: {},
        properties: {},
        timeLimitMs: 100,
        waitDeadline: performance.now() + 20,
        waitBudgetMs: 20,
      };
      const first = cold.run(run);
      await expect(cold.run(run)).rejects.toMatchObject({ status: 503, errorCode: 'gatehouse.WorkQueueFull' });
      await expect(first).rejects.toMatchObject({ status: 503, errorCode: 'gatehouse.WorkBudgetExceeded' });
    } finally {
      await cold.close();
    }
  });
});
