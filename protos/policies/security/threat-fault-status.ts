// The status of a threat policy's client-body fault (docs/policies.md#apigee-fault-differences): Apigee
// answers ExecutionFailed with 500 unless an organization feature makes it 400; Gatehouse answers 400
// (the client's body is at fault) and `faultStatus: 500` restores Apigee's default.
import type { JSONSchema } from '../schema.ts';

export type ThreatFaultStatus = 400 | 500;

export const DEFAULT_THREAT_FAULT_STATUS: ThreatFaultStatus = 400;

export const threatFaultStatus: JSONSchema = {
  type: 'integer',
  enum: [400, 500],
  description:
    "HTTP status of the ExecutionFailed fault a body that breaks the policy gets: 400 (default) or 500, Apigee's default status.",
};
