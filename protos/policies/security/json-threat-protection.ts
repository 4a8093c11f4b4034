// JSONThreatProtection: structural limits on a JSON body, enforced while scanning it (DESIGN 4a).
import type { PolicyTypeSpec } from '../index.ts';
import { messageName } from '../schema.ts';

export interface JSONThreatProtectionConfig {
  /** The message to check; default the message of the phase the step runs in. */
  source?: 'request' | 'response';
  /** Most nested objects/arrays; absent = no limit (as every limit here). */
  containerDepth?: number;
  arrayElementCount?: number;
  objectEntryCount?: number;
  /** Longest object member name, in characters. */
  objectEntryNameLength?: number;
  /** Longest string value, in characters. */
  stringValueLength?: number;
}

const limit = (description: string) => ({ type: 'integer', minimum: 0, maximum: 1_000_000_000, description }) as const;

export const jsonThreatProtection: PolicyTypeSpec = {
  type: 'JSONThreatProtection',
  member: 'jsonThreatProtection',
  group: 'security',
  schema: {
    type: 'object',
    properties: {
      source: messageName,
      containerDepth: limit('most nested objects and arrays'),
      arrayElementCount: limit('most elements in one array'),
      objectEntryCount: limit('most members in one object'),
      objectEntryNameLength: limit('longest member name'),
      stringValueLength: limit('longest string value'),
    },
  },
  needsBody: (config, phase) => ((config as JSONThreatProtectionConfig).source ?? phase) === phase,
};
