// AssignMessage (docs/policies.md): remove, copy, add and set parts of a message, and assign variables.
// The order of operations is the one protos/policies/mediation/assign-message.ts documents. The message
// is request, response, or a message variable (createNew makes one: flow/variables.ts reads it).
import {
  assignMessage,
  orderedOperations,
  type AddOperation,
  type AssignMessageConfig,
  type AssignMessageOperation,
  type AssignVariable,
  type CopyOperation,
  type RemoveOperation,
  type SetOperation,
} from '../../../../protos/policies/mediation/assign-message.ts';
import { payloadDelimiters } from '../../../../protos/policies/templates.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { createRequestMessage, createResponseMessage } from '../../flow/message.ts';
import {
  compilePayloadTemplate,
  compileTemplate,
  expandTemplate as renderTemplate,
  type PayloadTemplate,
  type TemplateVariables,
} from '../../flow/templates.ts';
import type {
  Message,
  PolicyContext,
  PolicyImplementation,
  PolicyMeta,
  RequestMessage,
  ResponseMessage,
} from '../../flow/types.ts';
import { checkConfig, formParams, isRequest } from '../support.ts';

type AnyMessage = RequestMessage | ResponseMessage;

const FORM = 'application/x-www-form-urlencoded';

/** Applies `change` to the query string of `message` when it is the request. */
function editQuery(message: AnyMessage, change: (params: URLSearchParams) => void): void {
  if (!isRequest(message)) return;
  const params = new URLSearchParams(message.query);
  change(params);
  message.query = params.toString();
}

function editForm(message: Message, change: (params: URLSearchParams) => void): void {
  const params = formParams(message);
  change(params);
  message.body.setText(params.toString(), FORM);
}

function remove(target: AnyMessage, op: RemoveOperation): void {
  for (const name of op.headers ?? []) target.headers.remove(name);
  if (op.queryParams) editQuery(target, (q) => op.queryParams!.forEach((n) => q.delete(n)));
  if (op.formParams) editForm(target, (f) => op.formParams!.forEach((n) => f.delete(n)));
  if (op.payload) target.body.setText('');
}

/** The faults an operation raises: AssignMessage's own, or those of a policy that reuses the operations (ServiceCallout). */
export interface OperationFaults {
  /** A template's variable is unset and ignoreUnresolvedVariables is false, or a named message does not exist. */
  unresolved(name: string): PolicyFault;
  /** A name that should hold a message holds something else. */
  notMessage(name: string): PolicyFault;
}

/** What a step's templates read: the flow variables, or (ignoreUnresolvedVariables false) those that fault when unset. */
export interface OperationRun {
  ctx: PolicyContext;
  vars: TemplateVariables;
  faults: OperationFaults;
}
type Run = OperationRun;

const expandTemplate = (run: Run, text: string) => renderTemplate(text, run.vars);

/** The named message, or the Apigee fault for a name that holds none. */
function messageNamed(run: Run, name: string): AnyMessage {
  const message = run.ctx.variables.message(name);
  if (message) return message;
  if (run.ctx.variables.holdsNonMessage(name)) throw run.faults.notMessage(name);
  throw run.faults.unresolved(name);
}

function copy(run: Run, target: AnyMessage, op: CopyOperation): void {
  const source = messageNamed(run, op.source ?? 'request');
  for (const name of op.headers ?? []) {
    // The copied values replace the target's: a set then adds (so Host, which has one value, copies).
    const values = source.headers.getAll(name);
    if (values.length === 0) target.headers.remove(name);
    values.forEach((value, i) => (i === 0 ? target.headers.set(name, value) : target.headers.add(name, value)));
  }
  if (op.queryParams && isRequest(source)) {
    const from = new URLSearchParams(source.query);
    editQuery(target, (q) =>
      op.queryParams!.forEach((n) => {
        q.delete(n);
        from.getAll(n).forEach((v) => q.append(n, v));
      }),
    );
  }
  if (op.formParams) {
    const from = formParams(source);
    editForm(target, (f) =>
      op.formParams!.forEach((n) => {
        f.delete(n);
        from.getAll(n).forEach((v) => f.append(n, v));
      }),
    );
  }
  if (op.payload) target.body.setText(source.body.text(), source.headers.get('content-type'));
  if (isRequest(source) && isRequest(target)) {
    if (op.verb) target.method = source.method;
    if (op.path) target.path = source.path;
  }
  if (!isRequest(source) && !isRequest(target)) {
    if (op.statusCode) target.status = source.status;
    if (op.reasonPhrase) target.reasonPhrase = source.reasonPhrase;
  }
}

function add(run: Run, target: AnyMessage, op: CompiledParts): void {
  for (const [name, value] of op.headers) target.headers.add(name, value.render(run.vars));
  const { queryParams: query, formParams: form } = op;
  if (query.length > 0) editQuery(target, (q) => query.forEach(([n, v]) => q.append(n, v.render(run.vars))));
  if (form.length > 0) editForm(target, (f) => form.forEach(([n, v]) => f.append(n, v.render(run.vars))));
}

function set(
  run: Run,
  target: AnyMessage,
  op: SetOperation,
  parts: CompiledParts,
  payload: PayloadTemplate | undefined,
): void {
  for (const [name, value] of parts.headers) target.headers.set(name, value.render(run.vars));
  const { queryParams: query, formParams: form } = parts;
  if (query.length > 0) editQuery(target, (q) => query.forEach(([n, v]) => q.set(n, v.render(run.vars))));
  if (form.length > 0) editForm(target, (f) => form.forEach(([n, v]) => f.set(n, v.render(run.vars))));
  // The payload escapes each value for where it sits (a JSON string, XML text, ...): flow/templates.ts.
  if (op.payload && payload) target.body.setText(payload.render(run.vars, target), op.payload.contentType);
  if (isRequest(target)) {
    if (op.verb) target.method = op.verb;
    if (op.path) target.path = parts.path!.render(run.vars);
  } else {
    if (op.statusCode) target.status = op.statusCode;
    if (op.reasonPhrase !== undefined) target.reasonPhrase = op.reasonPhrase;
  }
}

function assignVariables(run: Run, assignments: AssignVariable[]): void {
  const { ctx } = run;
  for (const a of assignments) {
    const value =
      a.ref !== undefined
        ? ctx.variables.get(a.ref)
        : a.template !== undefined
          ? expandTemplate(run, a.template)
          : a.value;
    ctx.variables.set(a.name, value);
  }
}

function fault(errorCode: string, faultString: string): PolicyFault {
  return new PolicyFault({ status: 500, errorCode, faultString });
}

function unresolved(meta: PolicyMeta, name: string): PolicyFault {
  return fault(
    'steps.assignmessage.UnresolvedVariable',
    `AssignMessage[${meta.name}]: unable to resolve variable ${name}`,
  );
}

/** AssignMessage's faults for a step. */
function assignMessageFaults(meta: PolicyMeta): OperationFaults {
  return {
    unresolved: (name) => unresolved(meta, name),
    notMessage: (name) =>
      fault(
        'steps.assignmessage.VariableOfNonMsgType',
        `AssignMessage[${meta.name}]: value of variable ${name} is not of type Message`,
      ),
  };
}

/** Variables whose unset names fault (ignoreUnresolvedVariables false), at the first one a template reads. */
export function strictVariables(ctx: PolicyContext, faults: OperationFaults): TemplateVariables {
  return {
    getString(name) {
      const value = ctx.variables.getString(name);
      if (value === undefined) throw faults.unresolved(name);
      return value;
    },
  };
}

/** A text template of an operation (a header, parameter or path value), parsed once at create(). */
interface TextTemplate {
  render(variables: TemplateVariables): string;
}

/**
 * Compiles a value's template; one that does not parse (the compiler refuses those, so only a hand-made
 * snapshot has one) keeps failing when it runs, as it always did, rather than failing the snapshot.
 */
function textTemplate(text: string): TextTemplate {
  if (!text.includes('{')) return { render: () => text };
  try {
    return compileTemplate(text);
  } catch {
    return { render: (variables) => renderTemplate(text, variables) };
  }
}

/** The templated parts of an add or set operation, with their names, in config order. */
interface CompiledParts {
  headers: ReadonlyArray<readonly [string, TextTemplate]>;
  queryParams: ReadonlyArray<readonly [string, TextTemplate]>;
  formParams: ReadonlyArray<readonly [string, TextTemplate]>;
  path?: TextTemplate;
}

const compileEntries = (values: Record<string, string> | undefined) =>
  Object.entries(values ?? {}).map(([name, value]) => [name, textTemplate(value)] as const);

function compileParts(op: AddOperation | SetOperation): CompiledParts {
  return {
    headers: compileEntries(op.headers),
    queryParams: compileEntries(op.queryParams),
    formParams: compileEntries(op.formParams),
    ...('path' in op && op.path ? { path: textTemplate(op.path) } : {}),
  };
}

export interface CompiledOperation {
  op: AssignMessageOperation;
  payload: PayloadTemplate | undefined;
  add: CompiledParts | undefined;
  set: CompiledParts | undefined;
}

/**
 * Operations ready to run: payload, header, parameter and path templates compiled once, at create()
 * (docs/architecture.md#the-policies-per-request-work-issue-20).
 */
export function compileOperations(operations: AssignMessageOperation[]): CompiledOperation[] {
  return operations.map((op) => ({
    op,
    payload:
      op.set?.payload &&
      compilePayloadTemplate(op.set.payload.content, op.set.payload.contentType, payloadDelimiters(op.set.payload)),
    add: op.add && compileParts(op.add),
    set: op.set && compileParts(op.set),
  }));
}

/** Runs operations on a message in order (remove, copy, add, set, assignVariable within each). */
export function applyOperations(run: OperationRun, target: AnyMessage, operations: CompiledOperation[]): void {
  for (const op of operations) apply(run, target, op);
}

function apply(run: Run, target: AnyMessage, compiled: CompiledOperation): void {
  const { op } = compiled;
  if (op.remove) remove(target, op.remove);
  if (op.copy) copy(run, target, op.copy);
  if (compiled.add) add(run, target, compiled.add);
  if (op.set && compiled.set) set(run, target, op.set, compiled.set, compiled.payload);
  if (op.assignVariable) assignVariables(run, op.assignVariable);
}

/** The message a step changes: a new one (createNew), or the one assignTo names, or the phase's. */
function targetOf(run: Run, config: AssignMessageConfig): AnyMessage {
  if (config.createNew && config.assignTo) {
    const made =
      (config.type ?? 'request') === 'request'
        ? createRequestMessage({ method: 'GET', path: '/', headers: {}, body: Buffer.alloc(0) })
        : createResponseMessage({ status: 200, headers: {}, body: Buffer.alloc(0) });
    run.ctx.variables.set(config.assignTo, made);
    return made;
  }
  return messageNamed(run, config.assignTo ?? run.ctx.phase);
}

export const assignMessagePolicy: PolicyImplementation<AssignMessageConfig> = {
  type: 'AssignMessage',
  create(config, meta) {
    checkConfig(assignMessage, config, meta);
    const operations = compileOperations(orderedOperations(config));
    const strict = config.ignoreUnresolvedVariables === false;
    const faults = assignMessageFaults(meta);
    return (ctx) => {
      const run: Run = { ctx, faults, vars: strict ? strictVariables(ctx, faults) : ctx.variables };
      try {
        const target = targetOf(run, config);
        applyOperations(run, target, operations);
      } catch (err) {
        // Apigee's fault variable; set only when the step fails.
        if (err instanceof PolicyFault) ctx.variables.set(`assignmessage.${meta.name}.failed`, true);
        throw err;
      }
      return undefined;
    };
  },
};
