// JavaScript (docs/policies.md#javascript): the policy's scripts run in a QuickJS sandbox (js/sandbox.ts)
// with Apigee's object model (js/prelude.ts). The run is the task `javascript.run` (workers/tasks.ts),
// which always goes to the worker pool when there is one: a script's CPU time is the user's to spend,
// and on the event loop even a 200 ms timeLimit would stall every other request of the process for
// that long (npm run bench:javascript measures the event loop's delay both ways). The object model's
// calls come back to this thread (js/bridge.ts) and go through the real flow variables and messages,
// so header changes pass the same allowed-change checks as every other policy's (flow/allowed-changes.ts).
import {
  DEFAULT_TIME_LIMIT_MS,
  javaScript,
  type JavaScriptConfig,
} from '../../../../protos/policies/extension/javascript.ts';
import { EgressError } from '../../egress/errors.ts';
import { RefusedChangeError } from '../../flow/allowed-changes.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, Variables } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { HostCallError, HostChannel, hostFor, type HostCall } from './js/bridge.ts';
import type { QuickJSWASMModule } from 'quickjs-emscripten-core';
import { loadQuickJS, runInSandbox, type SandboxOutcome, type SandboxRun } from './js/sandbox.ts';

export interface JavaScriptTaskInput {
  /** Empty: a script's cost does not follow any body's size (tasks.ts weighs the task as unbounded). */
  body: Uint8Array;
  runId: number;
  channel: SharedArrayBuffer;
  run: SandboxRun;
}

/** How long a host call may wait for the event loop beyond the script's own limit. */
const HOST_CALL_SLACK_MS = 1000;

/** The task `javascript.run`: the scripts' outcome; the object model's effects are already applied. */
export function javaScriptTask(input: JavaScriptTaskInput): SandboxOutcome | Promise<SandboxOutcome> {
  let deadline = Infinity;
  const host = hostFor(input.runId, input.channel, () => deadline);
  const run = (module: QuickJSWASMModule) => {
    deadline = performance.now() + input.run.timeLimitMs + HOST_CALL_SLACK_MS;
    return runInSandbox(module, input.run, host);
  };
  const module = loadQuickJS();
  return module instanceof Promise ? module.then(run) : run(module);
}

/** Values of context.session, per exchange (Apigee: shared by the policies of one message context). */
const sessions = new WeakMap<Variables, Map<string, string>>();

/** What a flow variable's value looks like to a script: strings, numbers and booleans as they are. */
function scriptValue(value: unknown): string | number | boolean | null {
  if (value === undefined || value === null) return null;
  if (typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'object') return 'headers' in value ? null : JSON.stringify(value); // a message is no value
  return typeof value === 'bigint' ? value.toString() : null;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new HostCallError(`${what} must be a string`);
  return value;
}

/** httpClient calls one run may start (docs/policies.md#javascript); the next send throws in the script. */
export const MAX_HTTP_CALLS = 10;

/** Added to an httpClient call's timeout (what is left of timeLimit when it starts). */
const HTTP_TIMEOUT_GRACE_MS = 100;

/** What an httpClient exchange looks like to the script (prelude.ts), once complete. */
interface HttpState {
  complete: boolean;
  response?: { status: number; reasonPhrase: string; headers: Record<string, string>; content: string };
  error?: string;
}

/** One httpClient call of a run: its state, and a promise settled (never rejected) when it completes. */
interface HttpCall {
  state: HttpState;
  done: Promise<void>;
}

/** Headers as the script reads them: lower-case names, repeated values joined with `,`. */
function headerObject(pairs: ReadonlyArray<readonly [string, string]>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of pairs) out[name] = name in out ? `${out[name]},${value}` : value;
  return out;
}

/** The object model's calls, answered against one exchange's variables and messages. */
class ObjectModelHost {
  private readonly ctx: PolicyContext;
  /** The first change the allowed-change rules refused: the step fails with it even if the script caught it. */
  refused: RefusedChangeError | undefined;
  private readonly calls: HttpCall[] = [];

  constructor(ctx: PolicyContext) {
    this.ctx = ctx;
  }

  call: HostCall = (op, args) => {
    try {
      return this.dispatch(op, args);
    } catch (error) {
      if (error instanceof RefusedChangeError) {
        this.refused ??= error;
        throw new HostCallError(`the change was refused: ${error.message}`);
      }
      throw error;
    }
  };

  private message(which: unknown) {
    if (which === 'request') return this.ctx.request;
    if (which === 'response') return this.ctx.response;
    throw new HostCallError('unknown message');
  }

  private writable(which: unknown) {
    const message = this.message(which);
    if (!message) throw new HostCallError(`there is no ${String(which)} in the ${this.ctx.phase} flow`);
    return message;
  }

  private dispatch(op: string, args: unknown[]): unknown {
    const { ctx } = this;
    switch (op) {
      case 'var.get':
        return scriptValue(ctx.variables.get(text(args[0], 'the variable name')));
      case 'var.set': {
        const name = text(args[0], 'the variable name');
        const value = args[1];
        if (value === null) return this.remove(name);
        if (!['string', 'number', 'boolean'].includes(typeof value)) throw new HostCallError('bad value');
        ctx.variables.set(name, value);
        return null;
      }
      case 'var.remove':
        return this.remove(text(args[0], 'the variable name'));
      case 'msg.header': {
        const values = this.message(args[0])?.headers.getAll(text(args[1], 'the header name')) ?? [];
        return values.length === 0 ? null : values.join(',');
      }
      case 'msg.headerNames':
        return (
          this.message(args[0])
            ?.headers.entries()
            .map(([name]) => name) ?? []
        );
      case 'msg.setHeader': {
        const headers = this.writable(args[0]).headers;
        const name = text(args[1], 'the header name');
        if (args[2] === null) headers.remove(name);
        else headers.set(name, text(args[2], 'the header value'));
        return null;
      }
      case 'msg.query': {
        if (args[0] !== 'request') return null;
        const values = new URLSearchParams(ctx.request.query).getAll(text(args[1], 'the parameter name'));
        return values.length === 0 ? null : values.join(',');
      }
      case 'msg.queryNames':
        return args[0] === 'request' ? [...new Set(new URLSearchParams(ctx.request.query).keys())] : [];
      case 'msg.setQuery': {
        if (args[0] !== 'request') throw new HostCallError('a response has no query parameters');
        const params = new URLSearchParams(ctx.request.query);
        const name = text(args[1], 'the parameter name');
        if (args[2] === null) params.delete(name);
        else params.set(name, text(args[2], 'the parameter value'));
        ctx.request.query = params.toString();
        return null;
      }
      case 'msg.get':
        return this.field(args[0], args[1]);
      case 'msg.set':
        this.setField(args[0], args[1], text(args[2], 'the value'));
        return null;
      case 'session.get':
        return this.session().get(text(args[0], 'the session key')) ?? null;
      case 'session.set': {
        const key = text(args[0], 'the session key');
        if (args[1] === null) this.session().delete(key);
        else this.session().set(key, text(args[1], 'the session value'));
        return null;
      }
      case 'session.keys':
        return [...this.session().keys()];
      case 'http.send':
        return this.httpSend(args);
      case 'http.state':
        return this.httpCall(args[0]).state;
      case 'http.wait': {
        const call = this.httpCall(args[0]);
        if (call.state.complete) return call.state;
        const ms = typeof args[1] === 'number' ? Math.max(0, args[1]) : 0;
        let timer: NodeJS.Timeout | undefined;
        const waited = new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)));
        return Promise.race([call.done, waited]).then(() => {
          clearTimeout(timer);
          return call.state;
        });
      }
      default:
        throw new HostCallError(`unknown call ${op.slice(0, 64)}`);
    }
  }

  /**
   * Starts an httpClient call through the egress client, with the DataPlane's address rules and a timeout
   * of what is left of the run's time limit (the sandbox appends it). Refusals and failures complete the
   * exchange with an error; only going over the per-run count throws in the script.
   */
  private httpSend(args: unknown[]): number {
    if (this.calls.length >= MAX_HTTP_CALLS) {
      throw new HostCallError(`httpClient: at most ${MAX_HTTP_CALLS} calls per script run`);
    }
    const url = text(args[0], 'the URL');
    const method = text(args[1], 'the method');
    if (!/^[A-Z]{1,16}$/.test(method)) throw new HostCallError('the method must be an HTTP method name');
    const pairs = Array.isArray(args[2]) ? args[2] : [];
    const headers = pairs.map((pair): [string, string] => {
      if (!Array.isArray(pair)) throw new HostCallError('bad headers');
      return [text(pair[0], 'a header name'), text(pair[1], 'a header value')];
    });
    const body = text(args[3], 'the body');
    // What is left of the time limit, and a little more: a script waiting on a slow server ends with the
    // timeout fault when its limit is reached, not with its call's timeout racing the limit.
    const timeoutMs = (typeof args[4] === 'number' && args[4] > 0 ? args[4] : 1) + HTTP_TIMEOUT_GRACE_MS;
    const state: HttpState = { complete: false };
    const done = this.ctx.egress
      .send(
        { url, method, headers, ...(body ? { body: Buffer.from(body, 'utf8') } : {}) },
        { timeoutMs, rules: this.ctx.runtime.egressRules },
      )
      .then(
        (answer) => {
          state.response = {
            status: answer.status,
            reasonPhrase: answer.reasonPhrase,
            headers: headerObject(answer.headers),
            content: answer.body.toString('utf8'),
          };
        },
        (error: unknown) => {
          // The egress errors name the origin and the failure, never a header or body.
          state.error = error instanceof EgressError ? error.message : 'the call failed';
          if (!(error instanceof EgressError)) this.ctx.log.warn({ err: String(error) }, 'httpClient call failed');
        },
      )
      .finally(() => {
        state.complete = true;
      });
    this.calls.push({ state, done });
    return this.calls.length - 1;
  }

  private httpCall(id: unknown): HttpCall {
    const call = typeof id === 'number' ? this.calls[id] : undefined;
    if (!call) throw new HostCallError('unknown exchange');
    return call;
  }

  private remove(name: string): null {
    const header = /^(request|response)\.header\.(.+)$/.exec(name);
    if (header) this.message(header[1])?.headers.remove(header[2]!);
    else this.ctx.variables.set(name, undefined);
    return null;
  }

  private session(): Map<string, string> {
    let map = sessions.get(this.ctx.variables);
    if (!map) sessions.set(this.ctx.variables, (map = new Map<string, string>()));
    return map;
  }

  private field(which: unknown, field: unknown): unknown {
    const message = this.message(which);
    if (!message) return null;
    if (field === 'content') return message.body.available ? message.body.text() : '';
    if ('method' in message) {
      if (field === 'method') return message.method;
      if (field === 'url') {
        return `${message.scheme}://${message.authority}${message.path}${message.query ? `?${message.query}` : ''}`;
      }
      return null;
    }
    return field === 'status' ? message.status : null;
  }

  private setField(which: unknown, field: unknown, value: string): void {
    const message = this.writable(which);
    if (field === 'content') {
      message.body.setText(value);
      return;
    }
    if ('method' in message) {
      if (field === 'method') message.method = value;
      else if (field === 'url') {
        // Only the path and query of a URL are the request's to change; scheme and host are the route's.
        const url = new URL(value, `${message.scheme}://${message.authority}`);
        message.path = url.pathname;
        message.query = url.search.slice(1);
      } else throw new HostCallError(`a request has no ${String(field)} to set`);
      return;
    }
    if (field !== 'status') throw new HostCallError(`a response has no ${String(field)} to set`);
    const status = Number(value);
    if (!Number.isInteger(status)) throw new HostCallError('the status must be an integer');
    message.status = status;
  }
}

/** The faultstring Apigee gives a script that failed (its JavaScript policy runtime error reference). */
function faultString(policy: string, outcome: Extract<SandboxOutcome, { ok: false }>, timeLimitMs: number): string {
  if (outcome.kind === 'timeout') {
    return `Execution of ${policy} failed with error: Javascript runtime exceeded limit of ${timeLimitMs}ms`;
  }
  return `Execution of ${policy} failed with error: Javascript runtime error: "${outcome.message.slice(0, 1024)}"`;
}

const EMPTY = new Uint8Array(0);

export const javaScriptPolicy: PolicyImplementation<JavaScriptConfig> = {
  type: 'JavaScript',
  create(config, meta) {
    checkConfig(javaScript, config, meta);
    const name = (url: string | undefined, fallback: string) => url?.slice('jsc://'.length) ?? fallback;
    const scripts = [
      ...(config.includes ?? []).map((include) => ({ name: name(include.url, 'include'), source: include.source })),
      { name: name(config.resourceURL, `${meta.name}.js`), source: config.source },
    ];
    const timeLimitMs = config.timeLimit ?? DEFAULT_TIME_LIMIT_MS;
    const properties = { ...config.properties };
    return async (ctx) => {
      const host = new ObjectModelHost(ctx);
      const channel = new HostChannel(host.call);
      let outcome: SandboxOutcome;
      try {
        outcome = await ctx.offload.run('javascript.run', {
          body: EMPTY,
          runId: channel.id,
          channel: channel.buffer,
          run: {
            scripts,
            timeLimitMs,
            flow: ctx.phase === 'request' ? 'PROXY_REQ_FLOW' : 'PROXY_RESP_FLOW',
            properties,
          },
        });
      } finally {
        channel.close();
      }
      // print's output is for debugging: a variable of the step, never the log.
      if (outcome.print) ctx.variables.set(`javascript.${meta.name}.print`, outcome.print);
      if (host.refused) throw host.refused;
      if (!outcome.ok) {
        throw new PolicyFault({
          status: 500,
          errorCode: 'steps.javascript.ScriptExecutionFailed',
          faultString: faultString(meta.name, outcome, timeLimitMs),
        });
      }
      return undefined;
    };
  },
};
