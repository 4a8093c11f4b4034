// ApiPolicy (docs/policies.md, docs/api.md): a policy type and one member, named after the type, holding its
// configuration. Only implemented types (protos/policies) are in the schema: each embeds its
// configuration schema, and `kubectl apply` refuses a planned type with the list of supported ones
// (before, the CRD took every catalogue type and the refusal only surfaced in status).
import { policyTypes, policyTypesByName } from '../../../protos/policies/index.ts';
import { compiledStatusBase } from './common.ts';
import { boolean, enumOf, object, optional, raw, type Infer, type Schema } from './schema.ts';

/** Every type of docs/policies.md with its configuration member, in catalogue order. */
export const policyCatalogue: readonly { type: string; member: string }[] = (
  [
    ['Quota', 'quota'],
    ['SpikeArrest', 'spikeArrest'],
    ['ResetQuota', 'resetQuota'],
    ['ResponseCache', 'responseCache'],
    ['LookupCache', 'lookupCache'],
    ['PopulateCache', 'populateCache'],
    ['InvalidateCache', 'invalidateCache'],
    ['JSONToXML', 'jsonToXML'],
    ['XMLToJSON', 'xmlToJSON'],
    ['RaiseFault', 'raiseFault'],
    ['XSLTransform', 'xslTransform'],
    ['SOAPMessageValidation', 'soapMessageValidation'],
    ['AssignMessage', 'assignMessage'],
    ['ExtractVariables', 'extractVariables'],
    ['AccessEntity', 'accessEntity'],
    ['KeyValueMapOperations', 'keyValueMapOperations'],
    ['VerifyAPIKey', 'verifyAPIKey'],
    ['OAuthV2', 'oauthV2'],
    ['GetOAuthV2Info', 'getOAuthV2Info'],
    ['SetOAuthV2Info', 'setOAuthV2Info'],
    ['DeleteOAuthV2Info', 'deleteOAuthV2Info'],
    ['OAuthV1', 'oauthV1'],
    ['VerifyJWT', 'verifyJWT'],
    ['GenerateJWT', 'generateJWT'],
    ['DecodeJWT', 'decodeJWT'],
    ['VerifyJWS', 'verifyJWS'],
    ['GenerateJWS', 'generateJWS'],
    ['DecodeJWS', 'decodeJWS'],
    ['BasicAuthentication', 'basicAuthentication'],
    ['AccessControl', 'accessControl'],
    ['JSONThreatProtection', 'jsonThreatProtection'],
    ['XMLThreatProtection', 'xmlThreatProtection'],
    ['RegularExpressionProtection', 'regularExpressionProtection'],
    ['GenerateSAMLAssertion', 'generateSAMLAssertion'],
    ['ValidateSAMLAssertion', 'validateSAMLAssertion'],
    ['CORS', 'cors'],
    ['JavaScript', 'javaScript'],
    ['ServiceCallout', 'serviceCallout'],
    ['ExternalCallout', 'externalCallout'],
    ['Script', 'script'],
    ['JavaCallout', 'javaCallout'],
    ['FlowCallout', 'flowCallout'],
    ['StatisticsCollector', 'statisticsCollector'],
    ['MessageLogging', 'messageLogging'],
  ] as const
).map(([type, member]) => ({ type, member: policyTypesByName.get(type)?.member ?? member }));

/** The catalogue types without an implementation yet: not in the schema, listed in the docs. */
export const plannedPolicyTypes: readonly { type: string; member: string }[] = policyCatalogue.filter(
  ({ type }) => !policyTypesByName.has(type),
);

function memberSchema(type: string): Schema<unknown> {
  const spec = policyTypesByName.get(type)!;
  return optional(
    raw({
      ...spec.schema,
      description: `${spec.schema.description ?? `${type} configuration`} Set when type is ${type}.`,
    }),
  );
}

const members = Object.fromEntries(policyTypes.map(({ type, member }) => [member, memberSchema(type)]));
const memberByType = new Map(policyTypes.map(({ type, member }) => [type, member]));

/** The CEL ternary chain that maps each type to "its member is set". */
const memberMatchesType = policyTypes.reduceRight(
  (rest, { type, member }) => `self.type == '${type}' ? has(self.${member}) : ${rest}`,
  'false',
);

export const apiPolicySpec = object(
  {
    type: enumOf(
      policyTypes.map((p) => p.type),
      {
        description:
          'The policy type, named as in Apigee (the root element of an Apigee policy: <Quota>, <SpikeArrest>, ...). One of the types this version implements; the configuration goes in the member named after it in lowerCamelCase (Quota: quota, VerifyAPIKey: verifyAPIKey, CORS: cors). Planned types (OAuthV2, VerifyJWT, JavaScript, ...) are refused until they are implemented.',
      },
    ),
    continueOnError: optional(
      boolean({
        default: false,
        description:
          'When the policy fails: false stops the flow and starts fault handling; true records the error in the fault variables (fault.name, error.code, ...) and runs the next step. Apigee: the continueOnError attribute.',
      }),
    ),
    enabled: optional(
      boolean({
        default: true,
        description:
          'false turns the policy off: every step naming it is skipped, as if it were not there. Apigee: the enabled attribute.',
      }),
    ),
    ...members,
  },
  {
    rules: [
      {
        rule: memberMatchesType,
        message: 'the configuration member named after type (type: Quota needs quota) must be set',
        messageExpression: `'type ' + self.type + ' needs its configuration member ' + {${policyTypes.map(({ type, member }) => `'${type}': '${member}'`).join(', ')}}[self.type]`,
        explain: (v) => `type ${v.type} needs its configuration member ${memberByType.get(v.type) ?? ''}`,
        check: (v) => (v as Record<string, unknown>)[memberByType.get(v.type) ?? ''] !== undefined,
      },
      {
        rule: `[${policyTypes.map(({ member }) => `has(self.${member})`).join(', ')}].filter(x, x).size() <= 1`,
        message: 'only the configuration member named after type may be set',
        check: (v) =>
          policyTypes.filter(({ member }) => (v as Record<string, unknown>)[member] !== undefined).length <= 1,
      },
    ],
    description:
      'The policy: a type and its configuration, in the member named after the type. ApiProxy steps in the same namespace run it by name.',
  },
);

export type ApiPolicySpec = Infer<typeof apiPolicySpec> & Record<string, unknown>;

export function memberOf(type: string): string | undefined {
  return memberByType.get(type);
}

export const apiPolicyStatus = object(
  { ...compiledStatusBase },
  { description: 'What the operator made of this ApiPolicy, written by the operator (never by users).' },
);
