// XMLThreatProtection: name, structure and value limits on an XML body, checked while scanning it;
// DOCTYPE (and so every entity declaration) is rejected: entities are never expanded (DESIGN 4, 10).
import type { PolicyTypeSpec } from '../index.ts';
import { messageName, type JSONSchema } from '../schema.ts';

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
}

function limits(names: readonly string[]): JSONSchema {
  const limit: JSONSchema = { type: 'integer', minimum: 0, maximum: 1_000_000_000 };
  return { type: 'object', properties: Object.fromEntries(names.map((n) => [n, limit])) };
}

export const xmlThreatProtection: PolicyTypeSpec = {
  type: 'XMLThreatProtection',
  member: 'xmlThreatProtection',
  group: 'security',
  schema: {
    type: 'object',
    properties: {
      source: messageName,
      nameLimits: limits(['element', 'attribute', 'namespacePrefix', 'processingInstructionTarget']),
      structureLimits: limits(['nodeDepth', 'attributeCountPerElement', 'namespaceCountPerElement', 'childCount']),
      valueLimits: limits(['text', 'attribute', 'namespaceURI', 'comment', 'processingInstructionData']),
    },
  },
  needsBody: (config, phase) => ((config as XMLThreatProtectionConfig).source ?? phase) === phase,
};
