// The policy types both planes agree on: for each type its configuration member name (docs/architecture.md#the-api:
// `type: Quota` carries `quota: {...}`), the JSON Schema of that member, and what the type needs from
// Envoy's processing mode. The compiler validates configs against `toValidationSchema(schema)` (ajv:
// ref-or members expanded, unknown members rejected) plus `validate`, and embeds
// `toCrdSchema(schema)` in the ApiPolicy CRD (structural; see schema.ts); extproc's policy files use the
// exported config types and run the same `validate` at create(). This table is the one list of
// implemented types: ApiPolicy's `spec.type` enum is built from it (so the apiserver and the compiler
// refuse any other type), and extproc's registry test holds its implementations to it. Adding a
// policy: one schema file here, one row below, one implementation file under extproc/src/policies/,
// one row in its registry, then `npm run gen:crds && npm run gen:api-docs`.
import type { ConfigProblem, JSONSchema } from './schema.ts';
import { javaScript } from './extension/javascript.ts';
import { accessEntity } from './mediation/access-entity.ts';
import { assignMessage } from './mediation/assign-message.ts';
import { extractVariables } from './mediation/extract-variables.ts';
import { externalCallout } from './extension/external-callout.ts';
import { jsonToXML } from './mediation/json-to-xml.ts';
import { keyValueMapOperations } from './mediation/key-value-map-operations.ts';
import { raiseFault } from './mediation/raise-fault.ts';
import { xmlToJSON } from './mediation/xml-to-json.ts';
import { soapMessageValidation } from './mediation/soap-message-validation.ts';
import { xslTransform } from './mediation/xsl-transform.ts';
import { serviceCallout } from './extension/service-callout.ts';
import { script } from './extension/python-script.ts';
import { javaCallout } from './extension/java-callout.ts';
import { messageLogging } from './extension/message-logging.ts';
import { accessControl } from './security/access-control.ts';
import { basicAuthentication } from './security/basic-authentication.ts';
import { cors } from './security/cors.ts';
import { decodeJWS } from './security/decode-jws.ts';
import { decodeJWT } from './security/decode-jwt.ts';
import { flowCallout } from './extension/flow-callout.ts';
import { statisticsCollector } from './extension/statistics-collector.ts';
import { generateJWS } from './security/generate-jws.ts';
import { generateJWT } from './security/generate-jwt.ts';
import { jsonThreatProtection } from './security/json-threat-protection.ts';
import { oauthV2 } from './security/oauth-v2.ts';
import { deleteOAuthV2Info, getOAuthV2Info, setOAuthV2Info } from './security/oauth-v2-info.ts';
import { regularExpressionProtection } from './security/regular-expression-protection.ts';
import { verifyAPIKey } from './security/verify-api-key.ts';
import { verifyJWS } from './security/verify-jws.ts';
import { verifyJWT } from './security/verify-jwt.ts';
import { xmlThreatProtection } from './security/xml-threat-protection.ts';
import { invalidateCache } from './traffic/invalidate-cache.ts';
import { lookupCache } from './traffic/lookup-cache.ts';
import { populateCache } from './traffic/populate-cache.ts';
import { quota } from './traffic/quota.ts';
import { resetQuota } from './traffic/reset-quota.ts';
import { responseCache } from './traffic/response-cache.ts';
import { spikeArrest } from './traffic/spike-arrest.ts';

export type PolicyGroup = 'traffic' | 'mediation' | 'security' | 'extension';

export interface PolicyTypeSpec {
  /** The policy type name, as Apigee spells it: "VerifyAPIKey". */
  type: string;
  /** The member holding the configuration: "verifyAPIKey". */
  member: string;
  group: PolicyGroup;
  /** JSON Schema (draft 2020-12 subset that is also a structural OpenAPI v3 schema) of the member. */
  schema: JSONSchema;
  /**
   * Whether a step of this policy in the given phase needs the message body buffered. Called by the
   * compiler with the validated config to choose each route's processing mode (docs/architecture.md#the-envoy-and-extproc-contract).
   */
  needsBody: (config: unknown, phase: 'request' | 'response') => boolean;
  /**
   * Checks a schema-valid config for what JSON Schema cannot say (CIDR syntax, regexes that RE2
   * cannot compile, mutually exclusive members). The compiler reports each problem on the ApiPolicy;
   * extproc's `create` runs the same check. Absent: nothing beyond the schema.
   */
  validate?: (config: unknown) => ConfigProblem[];
}

/** Every supported type, in catalogue order. */
export const policyTypes: readonly PolicyTypeSpec[] = [
  quota,
  spikeArrest,
  resetQuota,
  responseCache,
  lookupCache,
  populateCache,
  invalidateCache,
  jsonToXML,
  xmlToJSON,
  raiseFault,
  xslTransform,
  soapMessageValidation,
  assignMessage,
  extractVariables,
  accessEntity,
  keyValueMapOperations,
  verifyAPIKey,
  oauthV2,
  getOAuthV2Info,
  setOAuthV2Info,
  deleteOAuthV2Info,
  basicAuthentication,
  accessControl,
  jsonThreatProtection,
  xmlThreatProtection,
  regularExpressionProtection,
  cors,
  verifyJWT,
  generateJWT,
  decodeJWT,
  verifyJWS,
  generateJWS,
  decodeJWS,
  externalCallout,
  serviceCallout,
  javaScript,
  script,
  javaCallout,
  flowCallout,
  messageLogging,
  statisticsCollector,
];

export const policyTypesByName: ReadonlyMap<string, PolicyTypeSpec> = new Map(policyTypes.map((p) => [p.type, p]));
