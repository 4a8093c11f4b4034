// The MessageContext an ExternalCallout sends (built from the message model and flow variables) and
// how the returned one is applied (docs/policies.md#externalcallout), following the contract's
// comments in protos/apigee/external_callout.proto: header and parameter maps replace or (empty
// Strings) remove the names they hold; content replaces the body when it was sent; a FlowVariable with
// no value removes the variable and those below it; read-only fields are ignored.
import type { FlowVariable, FlowVariable__Output } from '../../../../protos/gen/apigee/FlowVariable.ts';
import type { MessageContext, MessageContext__Output } from '../../../../protos/gen/apigee/MessageContext.ts';
import type { Strings, Strings__Output } from '../../../../protos/gen/apigee/Strings.ts';
import type { ExternalCalloutConfig } from '../../../../protos/policies/extension/external-callout.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { PrivateValue } from '../../flow/variables.ts';
import type { Headers, PolicyContext, RequestMessage, ResponseMessage } from '../../flow/types.ts';
import { isFormMediaType, mediaType } from '../support.ts';

type Configurations = NonNullable<ExternalCalloutConfig['configurations']>;

/** Most flow variables a server may set or remove in one reply: a bound on the work a reply causes. */
export const MAX_RETURNED_VARIABLES = 1000;
/** Longest variable name a server may set. */
export const MAX_VARIABLE_NAME = 256;
/** Where a fault the server raises is named: Apigee's `steps.externalcallout.{name}`. */
const SERVER_FAULT_PREFIX = 'steps.externalcallout.';
const FAULT_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

function headerMap(headers: Headers): Record<string, Strings> {
  const out: Record<string, Strings> = {};
  for (const [name, values] of headers.entries()) out[name] = { strings: values };
  return out;
}

function paramMap(params: URLSearchParams): Record<string, Strings> {
  const out: Record<string, Strings> = {};
  for (const [name, value] of params) (out[name] ??= { strings: [] }).strings!.push(value);
  return out;
}

/** A flow variable's value in the proto's types: numbers as int32, int64 or double; the rest as text. */
export function toFlowVariable(value: unknown): FlowVariable | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'boolean') return { bool: value };
  if (typeof value === 'bigint') return { int64: value.toString() };
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return { double: value };
    return value >= -(2 ** 31) && value < 2 ** 31 ? { int32: value } : { int64: String(value) };
  }
  if (value instanceof PrivateValue) return { string: value.reveal() };
  if (typeof value === 'string') return { string: value };
  if (Buffer.isBuffer(value)) return { string: value.toString('utf8') };
  // Messages (AssignMessage createNew) and other objects are not values the contract can carry.
  if (typeof value === 'object' && !Array.isArray(value) && value.constructor !== Object) return undefined;
  return { string: JSON.stringify(value) };
}

/** The value a returned FlowVariable sets, or undefined when it has none (removal). */
export function fromFlowVariable(v: FlowVariable__Output): unknown {
  switch (v.value) {
    case 'int32':
      return v.int32;
    case 'int64': {
      const n = Number(v.int64);
      return Number.isSafeInteger(n) ? n : BigInt(v.int64 ?? '0');
    }
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

/** The MessageContext for this step: the phase's message and the variables under the configured prefixes. */
export function buildMessageContext(ctx: PolicyContext, configurations: Configurations | undefined): MessageContext {
  const c = configurations ?? {};
  const vars = ctx.variables;
  const str = (name: string) => vars.getString(name) ?? '';
  const request = ctx.request;
  const out: MessageContext = {
    messageId: str('messageid'),
    organizationName: ctx.proxy.namespace,
    environmentName: str('environment.name'),
    apiProxy: { name: ctx.proxy.name, revision: '' },
    client: {
      ip: str('client.ip'),
      cn: str('client.cn'),
      scheme: request.scheme,
      sslEnabled: request.scheme === 'https',
    },
    currentFlow: { name: str('current.flow.name') },
    proxy: {
      basePath: str('proxy.basepath'),
      pathSuffix: str('proxy.pathsuffix'),
      url: str('proxy.url'),
      clientIp: str('client.ip'),
    },
    target: { url: str('target.url') },
    additionalFlowVariables: {},
  };
  if (ctx.phase === 'request') {
    out.request = {
      uri: request.query === '' ? request.path : `${request.path}?${request.query}`,
      verb: request.method,
      queryParams: paramMap(new URLSearchParams(request.query)),
      ...(c.withRequestHeaders ? { headers: headerMap(request.headers) } : {}),
      ...(c.withRequestContent && request.body.available ? { content: request.body.text() } : {}),
      ...(c.withRequestContent && isFormMediaType(mediaType(request)) && request.body.available
        ? { formParams: paramMap(new URLSearchParams(request.body.text())) }
        : {}),
    };
  } else if (ctx.response) {
    const response = ctx.response;
    out.response = {
      statusCode: response.status,
      reasonPhrase: response.reasonPhrase ?? '',
      ...(c.withResponseHeaders ? { headers: headerMap(response.headers) } : {}),
      ...(c.withResponseContent && response.body.available ? { content: response.body.text() } : {}),
    };
    if (vars.get('error') === true) out.error = { message: str('error.message') };
  }
  for (const prefix of c.flowVariables ?? []) {
    for (const name of [...new Set([prefix, ...vars.namesUnder(prefix)])]) {
      const value = toFlowVariable(vars.get(name));
      if (value) out.additionalFlowVariables![name] = value;
    }
  }
  return out;
}

const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((v, i) => v === b[i]);

/**
 * Servers commonly return the whole message they were sent: an entry equal to what the message holds is
 * no change (rewriting Host or Content-Length unchanged would be refused as a change Envoy forbids).
 */
function applyHeaders(headers: Headers, returned: Record<string, Strings__Output>): void {
  for (const [name, { strings }] of Object.entries(returned)) {
    if (same(headers.getAll(name), strings)) continue;
    headers.remove(name);
    for (const value of strings) headers.add(name, value);
  }
}

/** Applies a name-to-Strings map onto a query or form string, or undefined when it changes nothing. */
function applyParams(text: string, returned: Record<string, Strings__Output>): string | undefined {
  const params = new URLSearchParams(text);
  let changed = false;
  for (const [name, { strings }] of Object.entries(returned)) {
    if (same(params.getAll(name), strings)) continue;
    changed = true;
    params.delete(name);
    for (const value of strings) params.append(name, value);
  }
  return changed ? params.toString() : undefined;
}

function executionError(policy: string, detail: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: 'steps.externalcallout.ExecutionError',
    faultString: `ExternalCallout[${policy}]: Encountered the following exception while sending the gRPC request or processing the response: [${detail}]`,
  });
}

export { executionError };

/**
 * Applies the server's reply: message changes, then variables, then its fault (raised whatever
 * continueOnError says). A reply that breaks the contract's bounds changes nothing and is an
 * ExecutionError.
 */
export function applyMessageContext(
  ctx: PolicyContext,
  sent: MessageContext,
  reply: MessageContext__Output,
  policy: string,
): void {
  const variables = Object.entries(reply.additionalFlowVariables);
  if (variables.length > MAX_RETURNED_VARIABLES)
    throw executionError(
      policy,
      `the reply sets ${variables.length} flow variables, more than ${MAX_RETURNED_VARIABLES}`,
    );
  const badName = variables.find(([name]) => name === '' || name.length > MAX_VARIABLE_NAME);
  if (badName) throw executionError(policy, `the reply sets a flow variable with an empty or over-long name`);
  const fault = reply.fault;
  if (fault && fault.name !== '' && !FAULT_NAME.test(fault.name))
    throw executionError(policy, 'the reply raises a fault whose name is not a name');

  if (ctx.phase === 'request' && sent.request && reply.request) applyRequest(ctx.request, sent, reply.request);
  if (ctx.phase === 'response' && ctx.response && sent.response && reply.response)
    applyResponse(ctx.response, sent, reply.response);

  for (const [name, value] of variables) {
    const set = fromFlowVariable(value);
    if (set === undefined) ctx.variables.remove(name);
    else ctx.variables.set(name, set);
  }

  if (fault && fault.name !== '') {
    throw new PolicyFault({
      status: 500,
      // The code is the server's to name (Apigee: steps.externalcallout.{name}); the name was checked above.
      errorCode: SERVER_FAULT_PREFIX + fault.name,
      faultString: fault.faultString,
      overridesContinueOnError: true,
    });
  }
}

function applyRequest(
  request: RequestMessage,
  sent: MessageContext,
  returned: NonNullable<MessageContext__Output['request']>,
): void {
  applyHeaders(request.headers, returned.headers);
  const query = applyParams(request.query, returned.queryParams);
  if (query !== undefined) request.query = query;
  // Content and form parameters apply only when the content was sent (with.request.content): otherwise
  // the body was not buffered, and an empty proto3 string cannot say "unchanged" from "remove".
  if (sent.request?.content !== undefined) {
    if (returned.content !== sent.request.content) request.body.setText(returned.content);
    else if (sent.request.formParams !== undefined) {
      const form = applyParams(request.body.text(), returned.formParams);
      if (form !== undefined) request.body.setText(form);
    }
  }
}

function applyResponse(
  response: ResponseMessage,
  sent: MessageContext,
  returned: NonNullable<MessageContext__Output['response']>,
): void {
  applyHeaders(response.headers, returned.headers);
  if (sent.response?.content !== undefined && returned.content !== sent.response.content)
    response.body.setText(returned.content);
}
