// JSONThreatProtection: structural limits on a JSON body, enforced while scanning it (docs/policies.md).
import type { PolicyTypeSpec } from '../index.ts';
import { messageName } from '../schema.ts';
import { threatFaultStatus, type ThreatFaultStatus } from './threat-fault-status.ts';

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
  /** Status of the ExecutionFailed fault; default 400 (Apigee: 500). */
  faultStatus?: ThreatFaultStatus;
}

const limit = (description: string) =>
  ({
    type: 'integer',
    minimum: 0,
    maximum: 1_000_000_000,
    description: `${description} An integer from 0 to 1,000,000,000; absent: no limit.`,
  }) as const;

export const jsonThreatProtection: PolicyTypeSpec = {
  type: 'JSONThreatProtection',
  member: 'jsonThreatProtection',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'JSONThreatProtection: structural limits on a JSON body, checked while scanning it; a violation is refused with steps.jsonthreatprotection.ExecutionFailed (400, or faultStatus). Only JSON bodies are checked. Apigee: <JSONThreatProtection>.',
    properties: {
      source: {
        ...messageName,
        description:
          'The message checked: request or response; default the message of the phase the step runs in. Apigee: <Source>.',
      },
      containerDepth: limit('Most nested objects and arrays. Apigee: <ContainerDepth>.'),
      arrayElementCount: limit('Most elements in one array. Apigee: <ArrayElementCount>.'),
      objectEntryCount: limit('Most members in one object. Apigee: <ObjectEntryCount>.'),
      objectEntryNameLength: limit('Longest member name, in characters. Apigee: <ObjectEntryNameLength>.'),
      stringValueLength: limit('Longest string value, in characters. Apigee: <StringValueLength>.'),
      faultStatus: threatFaultStatus,
    },
  },
  needsBody: (config, phase) => ((config as JSONThreatProtectionConfig).source ?? phase) === phase,
};
