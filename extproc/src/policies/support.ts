// Helpers every policy file shares: config checking at create() time and access to the message a
// policy reads or writes.
import { GatehouseError } from '../../../lib/errors.ts';
import type { PolicyTypeSpec } from '../../../protos/policies/index.ts';
import type { Message, PolicyContext, PolicyMeta, RequestMessage, ResponseMessage } from '../flow/types.ts';

/** A policy config that passed the schema but cannot be run (bad CIDR, regex RE2 cannot compile). */
export class PolicyConfigError extends GatehouseError {
  constructor(meta: PolicyMeta, message: string) {
    super('GH_ERR_POLICY_CONFIG', `ApiPolicy ${meta.namespace}/${meta.name}: ${message}`);
  }
}

/** Runs the type's semantic checks (the ones the compiler runs too) and throws on any problem. */
export function checkConfig(spec: PolicyTypeSpec, config: unknown, meta: PolicyMeta): void {
  const problems = spec.validate?.(config) ?? [];
  if (problems.length > 0) {
    throw new PolicyConfigError(meta, problems.map((p) => `${spec.member}.${p.path}: ${p.message}`).join('; '));
  }
}

export type MessageName = 'request' | 'response';

/** The named message, or the phase's own one when `name` is absent; undefined before a response exists. */
export function messageOf(
  ctx: PolicyContext,
  name: MessageName | undefined,
): RequestMessage | ResponseMessage | undefined {
  return (name ?? ctx.phase) === 'request' ? ctx.request : ctx.response;
}

/** The media type of a message, lower-cased, without parameters: "application/json". */
export function mediaType(message: Message): string {
  const value = message.headers.get('content-type') ?? '';
  return value.split(';', 1)[0]!.trim().toLowerCase();
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

export function isXmlMediaType(type: string): boolean {
  return (
    type === 'application/xml' || type === 'text/xml' || (type.startsWith('application/') && type.endsWith('+xml'))
  );
}

export function isFormMediaType(type: string): boolean {
  return type === 'application/x-www-form-urlencoded';
}

/** The form parameters of a url-encoded body; empty for any other content type. */
export function formParams(message: Message): URLSearchParams {
  return isFormMediaType(mediaType(message)) ? new URLSearchParams(message.body.text()) : new URLSearchParams();
}

export function isRequest(message: RequestMessage | ResponseMessage): message is RequestMessage {
  return 'method' in message;
}

/** Expands `{variable}` references in a policy's template (flow/templates.ts); unknown ones expand to "". */
export function expandTemplate(ctx: PolicyContext, text: string): string {
  return ctx.variables.template(text);
}
