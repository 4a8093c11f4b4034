// XMLThreatProtection (docs/policies.md): name, structure and value limits on an XML body, checked by a
// forward scan that builds nothing; DOCTYPE is refused, so entities are never declared or expanded.
// The scan is the task `xml.threat` (workers/tasks.ts): a large body is scanned on the worker pool.
import type { XMLThreatProtectionConfig } from '../../../../protos/policies/security/xml-threat-protection.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { decodeBody } from '../../flow/message.ts';
import { settle } from '../../flow/offload.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { bodyKind, messageOf } from '../support.ts';
import { scanXml, XmlViolation, type XmlLimits, type XmlViolationCode } from '../xml.ts';

/** The fault code of each violation, written out so that lib/error-codes.ts can be checked against them. */
const FAULT_CODES: Record<XmlViolationCode, string> = {
  ElementNameLengthExceeded: 'threat.xml.ElementNameLengthExceeded',
  AttributeNameLengthExceeded: 'threat.xml.AttributeNameLengthExceeded',
  NamespacePrefixLengthExceeded: 'threat.xml.NamespacePrefixLengthExceeded',
  ProcessingInstructionTargetLengthExceeded: 'threat.xml.ProcessingInstructionTargetLengthExceeded',
  NodeDepthExceeded: 'threat.xml.NodeDepthExceeded',
  AttributeCountExceeded: 'threat.xml.AttributeCountExceeded',
  NamespaceCountExceeded: 'threat.xml.NamespaceCountExceeded',
  ChildCountExceeded: 'threat.xml.ChildCountExceeded',
  TextLengthExceeded: 'threat.xml.TextLengthExceeded',
  AttributeValueLengthExceeded: 'threat.xml.AttributeValueLengthExceeded',
  NamespaceURILengthExceeded: 'threat.xml.NamespaceURILengthExceeded',
  CommentLengthExceeded: 'threat.xml.CommentLengthExceeded',
  ProcessingInstructionDataLengthExceeded: 'threat.xml.ProcessingInstructionDataLengthExceeded',
  DTDNotAllowed: 'threat.xml.DTDNotAllowed',
  ExecutionFailed: 'threat.xml.ExecutionFailed',
};

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
    return (ctx) => {
      const message = messageOf(ctx, config.source);
      // Only XML bodies are this policy's business (any spelling of an XML type, or an untyped body
      // that looks like XML); other kinds pass, an ambiguous Content-Type is refused (support.ts).
      if (!message || bodyKind(message) !== 'xml') return undefined;
      return settle(ctx.offload.run('xml.threat', { body: message.body.bytes(), limits }), (finding) => {
        if (!finding) return undefined;
        throw new PolicyFault({
          status: 400,
          errorCode: FAULT_CODES[finding.violation],
          faultString: `XMLThreatProtection[${meta.name}]: ${finding.message}`,
        });
      });
    };
  },
};
