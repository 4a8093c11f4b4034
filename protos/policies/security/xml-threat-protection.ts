// XMLThreatProtection: name, structure and value limits on an XML body, checked while scanning it;
// DOCTYPE (and so every entity declaration) is rejected: entities are never expanded (docs/policies.md, docs/architecture.md#tests-and-quality-bars).
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, type JSONSchema } from '../schema.ts';
import { threatFaultStatus, type ThreatFaultStatus } from './threat-fault-status.ts';

export interface XMLNameLimits {
  element?: number;
  attribute?: number;
  namespacePrefix?: number;
  processingInstructionTarget?: number;
}

export interface XMLStructureLimits {
  nodeDepth?: number;
  attributeCountPerElement?: number;
  namespaceCountPerElement?: number;
  /** Most child nodes (elements, text, comments, processing instructions) of one element. */
  childCount?: number;
}

export interface XMLValueLimits {
  text?: number;
  attribute?: number;
  namespaceURI?: number;
  comment?: number;
  processingInstructionData?: number;
}

export interface XMLThreatProtectionConfig {
  source?: 'request' | 'response';
  /** Absent limits are not enforced. */
  nameLimits?: XMLNameLimits;
  structureLimits?: XMLStructureLimits;
  valueLimits?: XMLValueLimits;
  /** Status of the ExecutionFailed fault; default 400 (Apigee: 500). */
  faultStatus?: ThreatFaultStatus;
}

/** Limits by name, each with its meaning and Apigee element. */
function limits(description: string, members: Record<string, string>): JSONSchema {
  return {
    type: 'object',
    description,
    properties: Object.fromEntries(
      Object.entries(members).map(([name, meaning]) => [
        name,
        {
          type: 'integer',
          minimum: 0,
          maximum: 1_000_000_000,
          description: `${meaning} An integer from 0 to 1,000,000,000; absent: no limit.`,
        },
      ]),
    ),
  };
}

export const xmlThreatProtection: PolicyTypeSpec = {
  type: 'XMLThreatProtection',
  member: 'xmlThreatProtection',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'XMLThreatProtection: name, structure and value limits on an XML body, checked while scanning it; DOCTYPE is always refused, so no entity is ever expanded. A violation is refused with steps.xmlthreatprotection.ExecutionFailed (400, or faultStatus). Apigee: <XMLThreatProtection>.',
    properties: {
      source: {
        ...messageName,
        description:
          'The message checked: request or response; default the message of the phase the step runs in. Apigee: <Source>.',
      },
      nameLimits: limits('Longest names, in characters. Apigee: <NameLimits>.', {
        element: 'Longest element name (local part). Apigee: <Element>.',
        attribute: 'Longest attribute name. Apigee: <Attribute>.',
        namespacePrefix: 'Longest namespace prefix. Apigee: <NamespacePrefix>.',
        processingInstructionTarget: 'Longest processing-instruction target. Apigee: <ProcessingInstructionTarget>.',
      }),
      structureLimits: limits('Limits on the shape of the document. Apigee: <StructureLimits>.', {
        nodeDepth: 'Deepest element nesting. Apigee: <NodeDepth>.',
        attributeCountPerElement: 'Most attributes on one element. Apigee: <AttributeCountPerElement>.',
        namespaceCountPerElement: 'Most namespace declarations on one element. Apigee: <NamespaceCountPerElement>.',
        childCount:
          'Most children of one element: elements, text, comments and processing instructions all count. Apigee: <ChildCount>.',
      }),
      valueLimits: limits('Longest values, in characters. Apigee: <ValueLimits>.', {
        text: 'Longest text node. Apigee: <Text>.',
        attribute: 'Longest attribute value. Apigee: <Attribute>.',
        namespaceURI: 'Longest namespace URI. Apigee: <NamespaceURI>.',
        comment: 'Longest comment. Apigee: <Comment>.',
        processingInstructionData: 'Longest processing-instruction data. Apigee: <ProcessingInstructionData>.',
      }),
      faultStatus: threatFaultStatus,
    },
  },
  needsBody: (config, phase) => ((config as XMLThreatProtectionConfig).source ?? phase) === phase,
};
