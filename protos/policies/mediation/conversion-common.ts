// What JSONToXML and XMLToJSON share (docs/policies.md#jsontoxml, #xmltojson): where the input comes
// from and where the output goes, and the option strings both name alike (Apigee's <Options>).
import { readsBodyVariable } from '../expressions.ts';
import type { JSONSchema } from '../schema.ts';

/** `request`, `response`, or the name of a flow variable holding the document as text. */
export const conversionSource: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_.-]+$',
  description:
    'What is converted: request or response (the message body), or a flow variable holding the document as text; default the message of the phase the step runs in. Apigee: <Source>.',
};

export const conversionOutput: JSONSchema = {
  type: 'string',
  minLength: 1,
  maxLength: 256,
  pattern: '^[A-Za-z0-9_.-]+$',
  description:
    'Where the result goes: request or response (its body and Content-Type), or a flow variable that receives the text; default the source message. Required when source is a variable. Apigee: <OutputVariable>.',
};

/** A short option string (a block name, prefix or separator). */
export const optionString = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: 64,
  description,
});

/** The message names; anything else in source or outputVariable is a flow variable. */
export const isMessageName = (name: string): name is 'request' | 'response' =>
  name === 'request' || name === 'response';

/** The body needs of a conversion step: its source message in the phase it names, or a body variable (`request.content`). */
export function conversionNeedsBody(source: string | undefined, phase: 'request' | 'response'): boolean {
  const name = source ?? phase;
  return isMessageName(name) ? name === phase : readsBodyVariable(phase, { names: [name] });
}
