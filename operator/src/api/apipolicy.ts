// ApiPolicy (DESIGN 3 and 4): a type from the catalogue and one member, named after the type, holding its
// configuration. Types with an implementation (protos/policies) embed their schema; the rest of the
// catalogue is accepted by the apiserver as an open object and rejected by the compiler as "not
// supported yet", so that the reason shows up in the ApiPolicy's status rather than as an opaque
// apply-time failure.
import { policyTypesByName } from '../../../protos/policies/index.ts';
import { statusBase } from './common.ts';
import { boolean, enumOf, object, optional, raw, type Infer, type Schema } from './schema.ts';

/** Every type of DESIGN 4 with its configuration member, in catalogue order. */
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
    ['OAuthV1', 'oauthV1'],
    ['VerifyJWT', 'verifyJWT'],
    ['GenerateJWT', 'generateJWT'],
    ['DecodeJWT', 'decodeJWT'],
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
    ['PythonScript', 'pythonScript'],
    ['StatisticsCollector', 'statisticsCollector'],
    ['MessageLogging', 'messageLogging'],
  ] as const
).map(([type, member]) => ({ type, member: policyTypesByName.get(type)?.member ?? member }));

const openConfig = raw({
  type: 'object',
  'x-kubernetes-preserve-unknown-fields': true,
  description: 'not supported yet by this version of Gatehouse',
});

function memberSchema(type: string): Schema<unknown> {
  const spec = policyTypesByName.get(type);
  return optional(
    spec ? raw({ ...spec.schema, description: spec.schema.description ?? `${type} configuration` }) : openConfig,
  );
}

const members = Object.fromEntries(policyCatalogue.map(({ type, member }) => [member, memberSchema(type)]));
const memberByType = new Map(policyCatalogue.map(({ type, member }) => [type, member]));

/** The CEL ternary chain that maps each type to "its member is set". */
const memberMatchesType = policyCatalogue.reduceRight(
  (rest, { type, member }) => `self.type == '${type}' ? has(self.${member}) : ${rest}`,
  'false',
);

export const apiPolicySpec = object(
  {
    type: enumOf(
      policyCatalogue.map((p) => p.type),
      { description: 'a policy type from the catalogue (DESIGN 4)' },
    ),
    continueOnError: optional(
      boolean({ default: false, description: 'on failure record the error in variables and go on' }),
    ),
    enabled: optional(boolean({ default: true })),
    ...members,
  },
  {
    rules: [
      {
        rule: memberMatchesType,
        message: 'the configuration member named after type (type: Quota needs quota) must be set',
        messageExpression: `'type ' + self.type + ' needs its configuration member ' + {${policyCatalogue.map(({ type, member }) => `'${type}': '${member}'`).join(', ')}}[self.type]`,
        explain: (v) => `type ${v.type} needs its configuration member ${memberByType.get(v.type) ?? ''}`,
        check: (v) => (v as Record<string, unknown>)[memberByType.get(v.type) ?? ''] !== undefined,
      },
      {
        rule: `[${policyCatalogue.map(({ member }) => `has(self.${member})`).join(', ')}].filter(x, x).size() <= 1`,
        message: 'only the configuration member named after type may be set',
        check: (v) =>
          policyCatalogue.filter(({ member }) => (v as Record<string, unknown>)[member] !== undefined).length <= 1,
      },
    ],
  },
);

export type ApiPolicySpec = Infer<typeof apiPolicySpec> & Record<string, unknown>;

export function memberOf(type: string): string | undefined {
  return memberByType.get(type);
}

export const apiPolicyStatus = object({ ...statusBase });
