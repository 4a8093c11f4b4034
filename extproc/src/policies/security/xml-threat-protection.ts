// XMLThreatProtection (docs/policies.md): name, structure and value limits on an XML body, checked by a
// forward scan that builds nothing; DOCTYPE is refused, so entities are never declared or expanded.
// The scan is the task `xml.threat` (workers/tasks.ts): a large body is scanned on the worker pool.
import { DEFAULT_THREAT_FAULT_STATUS } from '../../../../protos/policies/security/threat-fault-status.ts';
import type { XMLThreatProtectionConfig } from '../../../../protos/policies/security/xml-threat-protection.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { decodeBody } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { bodyKind, messageOf, sourceUnavailable } from '../support.ts';
import { scanXml, XmlViolation, type XmlLimits, type XmlViolationCode } from '../xml.ts';

/**
 * Apigee reports every violation as one code, the kind only in the faultstring
 * (docs/policies.md#xmlthreatprotection); fault rules test `fault.name = "ExecutionFailed"`.
 */
export const XML_THREAT_FAULT = 'steps.xmlthreatprotection.ExecutionFailed';
export const XML_THREAT_SOURCE_UNAVAILABLE = 'steps.xmlthreatprotection.SourceUnavailable';

function limitsOf(config: XMLThreatProtectionConfig): XmlLimits {
  const { nameLimits: n = {}, structureLimits: s = {}, valueLimits: v = {} } = config;
  const or = (value: number | undefined) => value ?? Infinity;
  return {
    elementName: or(n.element),
    attributeName: or(n.attribute),
    namespacePrefix: or(n.namespacePrefix),
    processingInstructionTarget: or(n.processingInstructionTarget),
    nodeDepth: or(s.nodeDepth),
    attributeCountPerElement: or(s.attributeCountPerElement),
    namespaceCountPerElement: or(s.namespaceCountPerElement),
    childCount: or(s.childCount),
    text: or(v.text),
    attributeValue: or(v.attribute),
    namespaceURI: or(v.namespaceURI),
    comment: or(v.comment),
    processingInstructionData: or(v.processingInstructionData),
  };
}

export interface XmlThreatFinding {
  violation: XmlViolationCode;
  message: string;
}

/** The task `xml.threat`: the first limit exceeded or well-formedness problem, or null. */
export function xmlThreatTask(input: { body: Uint8Array; limits: XmlLimits }): XmlThreatFinding | null {
  try {
    scanXml(decodeBody(input.body), input.limits);
    return null;
  } catch (error) {
    if (!(error instanceof XmlViolation)) throw error;
    return { violation: error.violation, message: error.message };
  }
}

export const xmlThreatProtectionPolicy: PolicyImplementation<XMLThreatProtectionConfig> = {
  type: 'XMLThreatProtection',
  create(config, meta) {
    const limits = limitsOf(config);
    const status = config.faultStatus ?? DEFAULT_THREAT_FAULT_STATUS;
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      if (!message)
        throw sourceUnavailable('XMLThreatProtection', XML_THREAT_SOURCE_UNAVAILABLE, meta.name, config.source);
      // Only XML bodies are this policy's business (any spelling of an XML type, or an untyped body
      // that looks like XML); other kinds pass, an ambiguous Content-Type is refused (support.ts).
      if (bodyKind(message) !== 'xml') return undefined;
      return settle(ctx.offload.run('xml.threat', { body: message.body.bytes(), limits }), (finding) => {
        if (!finding) return undefined;
        throw new PolicyFault({
          status,
          errorCode: XML_THREAT_FAULT,
          faultString: `XMLThreatProtection[${meta.name}]: Execution failed. reason: ${finding.violation}: ${finding.message}`,
        });
      });
    };
  },
};
