// AssignMessage (docs/policies.md): remove, copy, add and set parts of a message, and assign variables.
// The order of operations is the one protos/policies/mediation/assign-message.ts documents.
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
import { PolicyFault } from '../../flow/faults.ts';
import { compilePayloadTemplate, type PayloadTemplate } from '../../flow/templates.ts';
import type {
  Message,
  PolicyContext,
  PolicyImplementation,
  PolicyMeta,
  RequestMessage,
  ResponseMessage,
} from '../../flow/types.ts';
import { checkConfig, expandTemplate, formParams, isRequest, messageOf } from '../support.ts';

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

function copy(ctx: PolicyContext, target: AnyMessage, op: CopyOperation, meta: PolicyMeta): void {
  const source = messageOf(ctx, op.source ?? 'request');
  if (!source) throw executionFailed(meta, 'the copy source response does not exist yet');
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

function add(ctx: PolicyContext, target: AnyMessage, op: AddOperation): void {
  for (const [name, value] of Object.entries(op.headers ?? {})) target.headers.add(name, expandTemplate(ctx, value));
  const query = Object.entries(op.queryParams ?? {});
  if (query.length > 0) editQuery(target, (q) => query.forEach(([n, v]) => q.append(n, expandTemplate(ctx, v))));
  const form = Object.entries(op.formParams ?? {});
  if (form.length > 0) editForm(target, (f) => form.forEach(([n, v]) => f.append(n, expandTemplate(ctx, v))));
}

function set(ctx: PolicyContext, target: AnyMessage, op: SetOperation, payload: PayloadTemplate | undefined): void {
  for (const [name, value] of Object.entries(op.headers ?? {})) target.headers.set(name, expandTemplate(ctx, value));
  const query = Object.entries(op.queryParams ?? {});
  if (query.length > 0) editQuery(target, (q) => query.forEach(([n, v]) => q.set(n, expandTemplate(ctx, v))));
  const form = Object.entries(op.formParams ?? {});
  if (form.length > 0) editForm(target, (f) => form.forEach(([n, v]) => f.set(n, expandTemplate(ctx, v))));
  // The payload escapes each value for where it sits (a JSON string, XML text, ...): flow/templates.ts.
  if (op.payload && payload) target.body.setText(payload.render(ctx.variables, target), op.payload.contentType);
  if (isRequest(target)) {
    if (op.verb) target.method = op.verb;
    if (op.path) target.path = expandTemplate(ctx, op.path);
  } else {
    if (op.statusCode) target.status = op.statusCode;
    if (op.reasonPhrase !== undefined) target.reasonPhrase = op.reasonPhrase;
  }
}

function assignVariables(ctx: PolicyContext, assignments: AssignVariable[]): void {
  for (const a of assignments) {
    const value =
      a.ref !== undefined
        ? ctx.variables.get(a.ref)
        : a.template !== undefined
          ? expandTemplate(ctx, a.template)
          : a.value;
    ctx.variables.set(a.name, value);
  }
}

function executionFailed(meta: PolicyMeta, reason: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: 'steps.assignmessage.ExecutionFailed',
    faultString: `AssignMessage[${meta.name}]: ${reason}`,
  });
}

interface CompiledOperation {
  op: AssignMessageOperation;
  payload: PayloadTemplate | undefined;
}

function apply(ctx: PolicyContext, target: AnyMessage, { op, payload }: CompiledOperation, meta: PolicyMeta): void {
  if (op.remove) remove(target, op.remove);
  if (op.copy) copy(ctx, target, op.copy, meta);
  if (op.add) add(ctx, target, op.add);
  if (op.set) set(ctx, target, op.set, payload);
  if (op.assignVariable) assignVariables(ctx, op.assignVariable);
}

export const assignMessagePolicy: PolicyImplementation<AssignMessageConfig> = {
  type: 'AssignMessage',
  create(config, meta) {
    checkConfig(assignMessage, config, meta);
    const operations: CompiledOperation[] = orderedOperations(config).map((op) => ({
      op,
      payload: op.set?.payload && compilePayloadTemplate(op.set.payload.content, op.set.payload.contentType),
    }));
    return (ctx) => {
      const target = messageOf(ctx, config.assignTo);
      if (!target) throw executionFailed(meta, 'assignTo response, but there is no response in the request phase');
      for (const op of operations) apply(ctx, target, op, meta);
      return undefined;
    };
  },
};
