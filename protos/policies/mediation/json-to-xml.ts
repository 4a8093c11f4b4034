// JSONToXML: a JSON message or variable to XML, with Apigee's options (docs/policies.md#jsontoxml).
import type { PolicyTypeSpec } from '../index.ts';
import type { JSONSchema } from '../schema.ts';
import { conversionNeedsBody, conversionOutput, conversionSource, optionString } from './conversion-common.ts';

export interface JsonToXmlOptions {
  nullValue?: string;
  namespaceBlockName?: string;
  defaultNamespaceNodeName?: string;
  namespaceSeparator?: string;
  textNodeName?: string;
  attributeBlockName?: string;
  attributePrefix?: string;
  objectRootElementName?: string;
  arrayRootElementName?: string;
  arrayItemElementName?: string;
  invalidCharsReplacement?: string;
}

export interface JSONToXMLConfig {
  source?: string;
  outputVariable?: string;
  options?: JsonToXmlOptions;
}

const elementName = (description: string): JSONSchema => ({
  type: 'string',
  minLength: 1,
  maxLength: 64,
  pattern: '^[A-Za-z_][A-Za-z0-9_.-]*$',
  description,
});

export const jsonToXML: PolicyTypeSpec = {
  type: 'JSONToXML',
  member: 'jsonToXML',
  group: 'mediation',
  schema: {
    type: 'object',
    description:
      'JSONToXML: converts a JSON message body or variable to XML. A message whose body is not JSON is left alone. Apigee: <JSONToXML>.',
    properties: {
      source: conversionSource,
      outputVariable: conversionOutput,
      options: {
        type: 'object',
        description: 'How the document is mapped. Apigee: <Options>.',
        properties: {
          nullValue: optionString('Text a JSON null becomes; absent: an empty element. Apigee: <NullValue>.'),
          namespaceBlockName: optionString(
            'Member holding namespace declarations (prefix → URI) of its element. Apigee: <NamespaceBlockName>.',
          ),
          defaultNamespaceNodeName: optionString(
            'Name of the default namespace in the namespace block. Apigee: <DefaultNamespaceNodeName>.',
          ),
          namespaceSeparator: optionString(
            'Separates a prefix from a local name in member names ("exp***person" → exp:person). Apigee: <NamespaceSeparator>.',
          ),
          textNodeName: optionString('Member whose value is the text of its element. Apigee: <TextNodeName>.'),
          attributeBlockName: optionString(
            'Member whose members are attributes of its element. Apigee: <AttributeBlockName>.',
          ),
          attributePrefix: optionString(
            'Members named with this prefix are attributes ("@id"). Apigee: <AttributePrefix>.',
          ),
          objectRootElementName: elementName(
            'Root element when the JSON object does not have exactly one member. Default "Root". Apigee: <ObjectRootElementName>.',
          ),
          arrayRootElementName: elementName(
            'Root element of a JSON array. Default "Array". Apigee: <ArrayRootElementName>.',
          ),
          arrayItemElementName: elementName(
            'Element of each item of an array that has no member name (the root array, an array in an array). Default "Item". Apigee: <ArrayItemElementName>.',
          ),
          invalidCharsReplacement: {
            type: 'string',
            maxLength: 16,
            pattern: '^[A-Za-z0-9_.-]*$',
            description:
              'Replaces each character of a member name that an XML name cannot hold. Default "_". Apigee: <InvalidCharsReplacement>.',
          },
        },
      },
    },
  },
  needsBody: (config, phase) => conversionNeedsBody((config as JSONToXMLConfig).source, phase),
};
