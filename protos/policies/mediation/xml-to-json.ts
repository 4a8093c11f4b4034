// XMLToJSON: an XML message or variable to JSON, with Apigee's options and format presets
// (docs/policies.md#xmltojson).
import type { PolicyTypeSpec } from '../index.ts';
import type { JSONSchema } from '../schema.ts';
import { conversionNeedsBody, conversionOutput, conversionSource, optionString } from './conversion-common.ts';

export type XmlToJsonFormat = 'xml.com' | 'yahoo' | 'google' | 'badgerFish';

export interface XmlToJsonOptions {
  recognizeNumber?: boolean;
  recognizeBoolean?: boolean;
  recognizeNull?: boolean;
  nullValue?: string;
  namespaceBlockName?: string;
  defaultNamespaceNodeName?: string;
  namespaceSeparator?: string;
  textAlwaysAsProperty?: boolean;
  textNodeName?: string;
  attributeBlockName?: string;
  attributePrefix?: string;
  outputPrefix?: string;
  outputSuffix?: string;
  stripLevels?: number;
  treatAsArray?: Array<{ path: string; unwrap?: boolean }>;
}

export interface XMLToJSONConfig {
  source?: string;
  outputVariable?: string;
  /** A preset of options (Apigee <Format>); `options` members given too override it. */
  format?: XmlToJsonFormat;
  options?: XmlToJsonOptions;
}

const flag = (description: string): JSONSchema => ({ type: 'boolean', description });

export const xmlToJsonOptionsSchema: JSONSchema = {
  type: 'object',
  description: 'How the document is mapped. Apigee: <Options>.',
  properties: {
    recognizeNumber: flag('Text that is a JSON number becomes a number. Default false. Apigee: <RecognizeNumber>.'),
    recognizeBoolean: flag('Text "true" or "false" becomes a boolean. Default false. Apigee: <RecognizeBoolean>.'),
    recognizeNull: flag('An empty element becomes null (or nullValue). Default false: {}. Apigee: <RecognizeNull>.'),
    nullValue: optionString('With recognizeNull, what an empty element becomes instead of null. Apigee: <NullValue>.'),
    namespaceBlockName: optionString(
      "Member that holds each element's namespace declarations (prefix → URI); absent: declarations are left out. Apigee: <NamespaceBlockName>.",
    ),
    defaultNamespaceNodeName: optionString(
      'Name of the default namespace in the namespace block. Apigee: <DefaultNamespaceNodeName>.',
    ),
    namespaceSeparator: optionString(
      'Joins a prefix and a local name ("ns1***b"); absent: prefixes are left out. Apigee: <NamespaceSeparator>.',
    ),
    textAlwaysAsProperty: flag(
      'Text is always a member named textNodeName, even in an element with nothing else. Apigee: <TextAlwaysAsProperty>.',
    ),
    textNodeName: optionString(
      'Member that holds text beside elements or attributes. Default "#text". Apigee: <TextNodeName>.',
    ),
    attributeBlockName: optionString(
      'Member that holds the attributes; absent: attributes are members of the element. Apigee: <AttributeBlockName>.',
    ),
    attributePrefix: optionString('Prepended to attribute names ("@"). Apigee: <AttributePrefix>.'),
    outputPrefix: { type: 'string', maxLength: 1024, description: 'Text before the JSON. Apigee: <OutputPrefix>.' },
    outputSuffix: { type: 'string', maxLength: 1024, description: 'Text after the JSON. Apigee: <OutputSuffix>.' },
    stripLevels: {
      type: 'integer',
      minimum: 0,
      maximum: 64,
      description:
        'Outer levels removed from the result, each only while it is an object with one member. Apigee: <StripLevels>.',
    },
    treatAsArray: {
      type: 'array',
      maxItems: 64,
      description: 'Elements that are always arrays, even when they occur once. Apigee: <TreatAsArray>.',
      items: {
        type: 'object',
        description: 'One element path. Apigee: <Path>.',
        required: ['path'],
        properties: {
          path: {
            type: 'string',
            minLength: 1,
            maxLength: 1024,
            description: 'Element names from the root, "a/b/c" (as they appear in the JSON). Apigee: <Path>.',
          },
          unwrap: flag(
            'The parent becomes the array itself when the element is its only member. Apigee: <Path unwrap="true">.',
          ),
        },
      },
    },
  },
};

export const xmlToJSON: PolicyTypeSpec = {
  type: 'XMLToJSON',
  member: 'xmlToJSON',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      'XMLToJSON: converts an XML message body or variable to JSON. A message whose body is not XML is left alone. Apigee: <XMLToJSON>.',
    properties: {
      source: conversionSource,
      outputVariable: conversionOutput,
      format: {
        type: 'string',
        enum: ['xml.com', 'yahoo', 'google', 'badgerFish'],
        description:
          'A preset of options; members of options override it. xml.com: recognizeNull, textNodeName "#text", attributePrefix "@". yahoo: recognizeNumber, textNodeName "content". google: textNodeName "$t", namespaceSeparator "$", textAlwaysAsProperty. badgerFish: textNodeName "$", textAlwaysAsProperty, attributePrefix "@", namespaceSeparator ":", namespaceBlockName "@xmlns", defaultNamespaceNodeName "$". Apigee: <Format>.',
      },
      options: xmlToJsonOptionsSchema,
    },
  },
  needsBody: (config, phase) => conversionNeedsBody((config as XMLToJSONConfig).source, phase),
};
