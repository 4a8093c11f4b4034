// The step both JSONToXML and XMLToJSON are (docs/policies.md#jsontoxml, #xmltojson): read the source
// (a message body of the right kind, or a text variable), convert on the offload (inline for small
// bodies, the worker pool for large ones), write the output (a message body with its Content-Type, or a
// variable), and fault as Apigee does: SourceUnavailable, InvalidSourceType, OutputVariableIsNotAvailable,
// InCompatibleTypes, ExecutionFailed, all 500.
import type { BodyKind } from '../../../../protos/policies/content-type.ts';
import { isMessageName } from '../../../../protos/policies/mediation/conversion-common.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { settle } from '../../flow/offload.ts';
import type { Message, PolicyContext, PolicyMeta, PolicyStep } from '../../flow/types.ts';
import { bodyKind, isJsonMediaType, isXmlMediaType, mediaType, messageOf, sourceUnavailable } from '../support.ts';

/** What a conversion task answers: the converted text, or why the input could not be converted. */
export type ConversionResult = { output: string } | { error: string };

/**
 * Most characters a conversion may produce from `inputBytes`: a document's names repeat in the output
 * (an array item in JSON becomes a start and an end tag), so a short input with one long name could
 * otherwise grow a thousandfold. Well past any real document's growth (about 2x).
 */
export function outputBound(inputBytes: number): number {
  return 8 * inputBytes + 65_536;
}

type FaultName =
  'ExecutionFailed' | 'SourceUnavailable' | 'InvalidSourceType' | 'OutputVariableIsNotAvailable' | 'InCompatibleTypes';

/** Apigee's codes, written out so that lib/error-codes.ts can be checked against them. */
const FAULT_CODES: Record<'JSONToXML' | 'XMLToJSON', Record<FaultName, string>> = {
  JSONToXML: {
    ExecutionFailed: 'steps.jsontoxml.ExecutionFailed',
    SourceUnavailable: 'steps.jsontoxml.SourceUnavailable',
    InvalidSourceType: 'steps.jsontoxml.InvalidSourceType',
    OutputVariableIsNotAvailable: 'steps.jsontoxml.OutputVariableIsNotAvailable',
    InCompatibleTypes: 'steps.jsontoxml.InCompatibleTypes',
  },
  XMLToJSON: {
    ExecutionFailed: 'steps.xmltojson.ExecutionFailed',
    SourceUnavailable: 'steps.xmltojson.SourceUnavailable',
    InvalidSourceType: 'steps.xmltojson.InvalidSourceType',
    OutputVariableIsNotAvailable: 'steps.xmltojson.OutputVariableIsNotAvailable',
    InCompatibleTypes: 'steps.xmltojson.InCompatibleTypes',
  },
};

export interface ConversionSpec {
  type: 'JSONToXML' | 'XMLToJSON';
  meta: PolicyMeta;
  source: string | undefined;
  outputVariable: string | undefined;
  /** The body kind a message source must have; a message of another kind is left alone, as Apigee does. */
  inputKind: BodyKind;
  outputContentType: string;
  convert(ctx: PolicyContext, body: Uint8Array): ConversionResult | Promise<ConversionResult>;
}

export function conversionStep(spec: ConversionSpec): PolicyStep {
  const { type, meta } = spec;
  const codes = FAULT_CODES[type];
  const fault = (name: FaultName, faultString: string) =>
    new PolicyFault({
      status: 500,
      errorCode: codes[name],
      faultString: `${type}[${meta.name}]: ${faultString}`,
    });
  return (ctx) => {
    const sourceName = spec.source ?? ctx.phase;
    let input: Uint8Array;
    if (isMessageName(sourceName)) {
      const message = messageOf(ctx, sourceName);
      if (!message) throw sourceUnavailable(type, codes.SourceUnavailable, meta.name, sourceName);
      if (message.body.size === 0) {
        // Declared as the input kind but empty: Apigee's ExecutionFailed; anything else passes.
        if (declaredKind(message) === spec.inputKind) {
          throw fault('ExecutionFailed', 'Execution failed due to reason: the input is empty');
        }
        return undefined;
      }
      if (bodyKind(message) !== spec.inputKind) return undefined;
      input = message.body.bytes();
    } else {
      const value = ctx.variables.get(sourceName);
      if (value === undefined || value === null) {
        throw sourceUnavailable(type, codes.SourceUnavailable, meta.name, sourceName);
      }
      if (typeof value !== 'string') {
        throw fault(
          'InvalidSourceType',
          `Invalid source type ${typeof value}. Valid source types are [message, string].`,
        );
      }
      if (spec.outputVariable === undefined)
        throw fault('OutputVariableIsNotAvailable', 'Output variable is not available.');
      if (isMessageName(spec.outputVariable)) {
        throw fault('InCompatibleTypes', `String can not be assigned to message of type: ${spec.outputVariable}`);
      }
      input = Buffer.from(value, 'utf8');
    }
    const outputName = spec.outputVariable ?? sourceName;
    return settle(spec.convert(ctx, input), (result) => {
      if ('error' in result) throw fault('ExecutionFailed', `Execution failed due to reason: ${result.error}`);
      if (isMessageName(outputName)) {
        const target = messageOf(ctx, outputName);
        if (!target) throw fault('OutputVariableIsNotAvailable', `Output variable ${outputName} is not available.`);
        target.body.setText(result.output, spec.outputContentType);
      } else {
        ctx.variables.set(outputName, result.output);
      }
      return undefined;
    });
  };
}

/** The declared kind of an empty body, by its Content-Type (bodyKind says undefined for an empty body). */
function declaredKind(message: Message): BodyKind | undefined {
  const type = mediaType(message);
  if (isJsonMediaType(type)) return 'json';
  if (isXmlMediaType(type)) return 'xml';
  return undefined;
}
