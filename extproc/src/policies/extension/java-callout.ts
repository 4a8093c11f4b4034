// JavaCallout (docs/policies.md#javacallout): runs a Java class in the Java callout host (java/), a
// sidecar JVM, over Apigee's ExternalCallout protocol. The call names the class, its jar and its
// properties in reserved flow variables (gatehouse.javacallout.*); the host answers with the changed
// headers, query parameters, content and variables, which are applied here, or with a Fault.
// Whatever goes wrong (the callout throws or returns ABORT, runs past its time, the host is busy,
// down or hung) raises Apigee's steps.javacallout.ExecutionError: the request never hangs.
import type { FlowVariable, FlowVariable__Output } from '../../../../protos/gen/apigee/FlowVariable.ts';
import type { MessageContext, MessageContext__Output } from '../../../../protos/gen/apigee/MessageContext.ts';
import type { Strings, Strings__Output } from '../../../../protos/gen/apigee/Strings.ts';
import { javaCallout, type JavaCalloutConfig } from '../../../../protos/policies/extension/java-callout.ts';
import { checkHeaderChange, RefusedChangeError } from '../../flow/allowed-changes.ts';
import { CalloutCallError, CalloutTlsError, PolicyFault } from '../../flow/faults.ts';
import { toVariableString } from '../../flow/variables.ts';
import type { Headers, Message, PolicyContext, PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

const RESERVED = 'gatehouse.javacallout.';
/** Where the host listens: the DataPlane runs it as a sidecar on the pod's loopback (docs/operations.md#java-callout-host). */
export const DEFAULT_JAVA_CALLOUT_HOST = '127.0.0.1:9443';
/** How much longer than the callout's own limit extproc waits for the host's answer (JVM scheduling). */
const DEADLINE_MARGIN_MS = 1000;

/** Apigee's runtime fault of JavaCallout: the callout failed, or could not be run. */
export class JavaCalloutExecutionError extends PolicyFault {
  constructor(faultString: string, extra: { headers?: Record<string, string>; body?: string } = {}) {
    super({
      status: 500,
      errorCode: 'steps.javacallout.ExecutionError',
      faultString,
      ...(extra.headers ? { headers: extra.headers } : {}),
      ...(extra.body !== undefined ? { body: { contentType: 'text/plain', content: extra.body } } : {}),
    });
  }
}

function strings(values: string[]): Strings {
  return { strings: values };
}

function headerMap(headers: Headers): Record<string, Strings> {
  return Object.fromEntries(headers.entries().map(([name, values]) => [name, strings(values)]));
}

function queryMap(query: string): Record<string, Strings> {
  const out: Record<string, string[]> = {};
  for (const [name, value] of new URLSearchParams(query)) (out[name] ??= []).push(value);
  return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, strings(v)]));
}

/** A flow variable as the proto carries it: numbers, booleans and strings; anything else as its text. */
export function toFlowVariable(value: unknown): FlowVariable | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return { bool: value };
  if (typeof value === 'number')
    return Number.isInteger(value) && Math.abs(value) < 2 ** 31 ? { int32: value } : { double: value };
  if (typeof value === 'bigint') return { int64: value.toString() };
  // Named variables are sent as the flow reads them: a private.* value as its text (the callout was
  // given it by name), objects as JSON.
  return { string: toVariableString(value) ?? '' };
}

/** The value of a FlowVariable; undefined for the default instance (Apigee: remove the variable). */
export function fromFlowVariable(v: FlowVariable__Output): unknown {
  switch (v.value) {
    case 'int32':
      return v.int32;
    case 'int64':
      return Number(v.int64);
    case 'string':
      return v.string;
    case 'bool':
      return v.bool;
    case 'double':
      return v.double;
    default:
      return undefined;
  }
}

function flowVariableText(v: FlowVariable__Output | undefined): string {
  return v ? (toVariableString(fromFlowVariable(v)) ?? '') : '';
}

/** The request to the host: the phase's messages, the named variables, and the call's settings. */
export function buildCall(ctx: PolicyContext, config: JavaCalloutConfig): MessageContext {
  const sendContent = config.sendContent !== false;
  const vars: Record<string, FlowVariable> = {
    [`${RESERVED}class`]: { string: config.className },
    [`${RESERVED}resource`]: { string: config.resourceURL.slice('java://'.length) },
    [`${RESERVED}timeout_ms`]: { string: String(config.timeoutMs ?? 1000) },
  };
  for (const [name, value] of Object.entries(config.properties ?? {}))
    vars[`${RESERVED}property.${name}`] = { string: value };
  for (const name of config.flowVariables ?? []) {
    const v = toFlowVariable(ctx.variables.get(name));
    if (v && !name.startsWith(RESERVED)) vars[name] = v;
  }
  const { request, response } = ctx;
  const call: MessageContext = {
    request: {
      uri: request.query ? `${request.path}?${request.query}` : request.path,
      verb: request.method,
      httpVersion: '1.1',
      headers: headerMap(request.headers),
      queryParams: queryMap(request.query),
      content: sendContent && request.body.available ? request.body.text() : '',
    },
    messageId: ctx.variables.getString('messageid') ?? '',
    additionalFlowVariables: vars,
  };
  if (ctx.phase === 'response' && response) {
    call.response = {
      statusCode: response.status,
      reasonPhrase: response.reasonPhrase ?? '',
      headers: headerMap(response.headers),
      content: sendContent && response.body.available ? response.body.text() : '',
    };
  }
  return call;
}

/** Header changes as the proto carries them: new values, or an empty Strings for a removal. */
function applyHeaders(message: Message, changes: Record<string, Strings__Output>): void {
  for (const [name, change] of Object.entries(changes)) {
    const lower = name.toLowerCase();
    if (change.strings.length === 0) {
      checkHeaderChange('remove', lower);
      message.headers.remove(lower);
      continue;
    }
    for (const value of change.strings) checkHeaderChange('set', lower, value);
    message.headers.set(lower, change.strings[0]!);
    for (const value of change.strings.slice(1)) message.headers.add(lower, value);
  }
}

function applyQuery(ctx: PolicyContext, changes: Record<string, Strings__Output>): void {
  if (Object.keys(changes).length === 0) return;
  const params = new URLSearchParams(ctx.request.query);
  for (const [name, change] of Object.entries(changes)) {
    params.delete(name);
    for (const value of change.strings) params.append(name, value);
  }
  ctx.request.query = params.toString();
}

/** Applies the host's answer to this phase's message and the flow variables. */
export function applyAnswer(ctx: PolicyContext, answer: MessageContext__Output): void {
  const vars = answer.additionalFlowVariables ?? {};
  const changed = flowVariableText(vars[`${RESERVED}content_changed`]).split(' ');
  if (ctx.phase === 'request' && answer.request) {
    applyHeaders(ctx.request, answer.request.headers ?? {});
    applyQuery(ctx, answer.request.queryParams ?? {});
    if (changed.includes('request')) ctx.request.body.setText(answer.request.content);
  }
  if (ctx.phase === 'response' && ctx.response && answer.response) {
    applyHeaders(ctx.response, answer.response.headers ?? {});
    if (changed.includes('response')) ctx.response.body.setText(answer.response.content);
  }
  applyVariables(ctx, answer);
}

function applyVariables(ctx: PolicyContext, answer: MessageContext__Output): void {
  for (const [name, v] of Object.entries(answer.additionalFlowVariables ?? {})) {
    if (name.startsWith(RESERVED)) continue;
    ctx.variables.set(name, fromFlowVariable(v));
  }
}

/** The fault for a call that failed at the gRPC level (timeout, busy, down): never a hung request. */
function callFault(err: unknown, config: JavaCalloutConfig): JavaCalloutExecutionError {
  // ctx.callouts rejects with the gRPC status name first: "DEADLINE_EXCEEDED: ...".
  const status =
    err instanceof CalloutCallError || err instanceof CalloutTlsError ? (err.message.split(':')[0] ?? '') : 'UNKNOWN';
  switch (status) {
    case 'DEADLINE_EXCEEDED':
      return new JavaCalloutExecutionError(`Execution timed out after ${config.timeoutMs ?? 1000} ms`);
    case 'RESOURCE_EXHAUSTED':
      return new JavaCalloutExecutionError('Java callout host is busy');
    case 'UNAVAILABLE':
      return new JavaCalloutExecutionError('Java callout host is unavailable');
    default:
      return new JavaCalloutExecutionError('Execution returned an error result');
  }
}

/** The callout's own error response (ExecutionResult.setErrorResponse/addErrorResponseHeader), if any. */
function errorResponse(answer: MessageContext__Output): { headers?: Record<string, string>; body?: string } {
  const vars = answer.additionalFlowVariables ?? {};
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(vars)) {
    if (!name.startsWith(`${RESERVED}error_header.`)) continue;
    const header = name.slice(`${RESERVED}error_header.`.length).toLowerCase();
    const value = flowVariableText(v);
    try {
      checkHeaderChange('set', header, value);
      headers[header] = value;
    } catch (err) {
      if (!(err instanceof RefusedChangeError)) throw err;
    }
  }
  const body = vars[`${RESERVED}error_response`];
  return {
    ...(Object.keys(headers).length > 0 ? { headers } : {}),
    ...(body ? { body: flowVariableText(body) } : {}),
  };
}

export const javaCalloutPolicy: PolicyImplementation<JavaCalloutConfig> = {
  type: 'JavaCallout',
  create(config, meta) {
    checkConfig(javaCallout, config, meta);
    const deadlineMs = (config.timeoutMs ?? 1000) + DEADLINE_MARGIN_MS;
    // Plain text on the pod's loopback: nothing outside the pod reaches the sidecar.
    const target = { address: process.env.GATEHOUSE_JAVA_CALLOUT_HOST ?? DEFAULT_JAVA_CALLOUT_HOST };
    return async (ctx) => {
      let answer: MessageContext__Output;
      try {
        answer = await ctx.callouts.call(target, buildCall(ctx, config), deadlineMs);
      } catch (err) {
        ctx.log.warn({ policy: meta.name, err: (err as Error).message }, 'JavaCallout call failed');
        throw callFault(err, config);
      }
      if (answer.fault) {
        const why = fromFlowVariable(answer.additionalFlowVariables?.[`${RESERVED}error`] ?? {});
        // The callout's exception text is for operators: it may hold request data, so never the client.
        ctx.log.info({ policy: meta.name, callout: config.className, error: why }, 'JavaCallout execution failed');
        // As in process: what the callout set before it failed stays set (fault rules may read it).
        applyVariables(ctx, answer);
        throw new JavaCalloutExecutionError('Execution returned an error result', errorResponse(answer));
      }
      applyAnswer(ctx, answer);
      return undefined;
    };
  },
};
