// The `{prefix}.{policy}.failed` variable Apigee sets when a policy's step faults
// (docs/policies.md#failure-handling): the prefix is Apigee's, per policy type, as its policy error
// reference spells it (`jsonattack.JTP-1.failed`, `acl.AC-1.failed`, `BasicAuthentication.BA-1.failed`).
// The engine sets it to true on every fault of the step, whether or not continueOnError lets the flow
// go on; a type without a row sets none.
const FAILED_PREFIX: Readonly<Record<string, string>> = {
  Quota: 'ratelimit',
  SpikeArrest: 'ratelimit',
  ResetQuota: 'resetquota',
  ResponseCache: 'responsecache',
  LookupCache: 'lookupcache',
  PopulateCache: 'populatecache',
  InvalidateCache: 'invalidatecache',
  RaiseFault: 'raisefault',
  AssignMessage: 'assignmessage',
  ExtractVariables: 'extractvariables',
  JSONToXML: 'jsontoxml',
  XMLToJSON: 'xmltojson',
  XSLTransform: 'xsl',
  SOAPMessageValidation: 'messagevalidation',
  KeyValueMapOperations: 'keyvaluemap',
  VerifyAPIKey: 'verifyapikey',
  BasicAuthentication: 'BasicAuthentication',
  AccessControl: 'acl',
  JSONThreatProtection: 'jsonattack',
  XMLThreatProtection: 'xmlattack',
  RegularExpressionProtection: 'regularexpressionprotection',
  ExternalCallout: 'externalcallout',
  ServiceCallout: 'servicecallout',
  JavaScript: 'javascript',
  Script: 'pythonscript',
  MessageLogging: 'messagelogging',
};

/** The failed variable of a step of `type` named `policy`, or undefined when Apigee defines none. */
export function failedVariable(type: string, policy: string): string | undefined {
  const prefix = FAILED_PREFIX[type];
  return prefix === undefined ? undefined : `${prefix}.${policy}.failed`;
}
