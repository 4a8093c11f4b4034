// Helpers every policy file shares: config checking at create() time and access to the message a
// policy reads or writes.
import { GatehouseError } from '../../../lib/errors.ts';
import {
  classifyContentType,
  kindOfMediaType,
  parseMediaType,
  type BodyKind,
} from '../../../protos/policies/content-type.ts';
import type { PolicyTypeSpec } from '../../../protos/policies/index.ts';
import { PolicyFault } from '../flow/faults.ts';
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

/**
 * The media type of a message, lower-cased, without parameters ("application/json"); "" when the
 * Content-Type is absent or does not name exactly one media type. Deciding what a body is goes through
 * `bodyKind`, which looks at every value and refuses the ambiguous ones.
 */
export function mediaType(message: Message): string {
  const verdict = classifyContentType(message.headers.getAll('content-type'));
  return verdict.status === 'one' ? verdict.media.essence : '';
}

const kindOf = (type: string) => {
  const media = parseMediaType(type);
  return media ? kindOfMediaType(media) : undefined;
};

/** Any `type/json`, `type/x-json` or `type/subtype+json`, in any case, with any parameters. */
export function isJsonMediaType(type: string): boolean {
  return kindOf(type) === 'json';
}

/** Any `type/xml` or `type/subtype+xml`, in any case, with any parameters. */
export function isXmlMediaType(type: string): boolean {
  return kindOf(type) === 'xml';
}

export function isFormMediaType(type: string): boolean {
  return kindOf(type) === 'form';
}

/**
 * What the message's body is (json, xml, form, other; undefined when empty), decided one way for every
 * guard: all Content-Type values, sniffed when there is none. Throws DuplicateContentTypeError or
 * MalformedContentTypeError (400, or 502 for a response) when the Content-Type names several media
 * types or is not one: a body-reading policy never guesses which one the upstream believes.
 */
export function bodyKind(message: Message): BodyKind | undefined {
  return message.body.kind();
}

/**
 * The form parameters of a url-encoded body; empty for any other content type. `strict` (a guard or an
 * extraction reading the form) refuses an ambiguous Content-Type as `bodyKind` does; otherwise such a
 * body simply is not a form.
 */
export function formParams(message: Message, options: { strict?: boolean } = {}): URLSearchParams {
  const isForm = options.strict
    ? bodyKind(message) === 'form'
    : isFormMediaType(mediaType(message)) && message.body.size > 0;
  return isForm ? new URLSearchParams(message.body.text()) : new URLSearchParams();
}

export function isRequest(message: RequestMessage | ResponseMessage): message is RequestMessage {
  return 'method' in message;
}

/** Expands a text template (`{variable}`, `{fn(args)}`; flow/templates.ts); unknown variables expand to "". */
export function expandTemplate(ctx: PolicyContext, text: string): string {
  return ctx.variables.template(text);
}

/**
 * Apigee's `SourceUnavailable` (500): the message a policy names does not exist in this phase (a
 * response in the request flow). Faultstring as Apigee writes it: `<Type>[<name>]: Source <source> is not available`.
 */
export function sourceUnavailable(
  type: string,
  errorCode: string,
  policyName: string,
  source: string | undefined,
): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode,
    faultString: `${type}[${policyName}]: Source ${source ?? 'response'} is not available`,
  });
}
