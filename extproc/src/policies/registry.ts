// Every policy implementation, registered in one place. Adding a policy: one file under its group
// folder and one row here (and its schema row in protos/policies/index.ts).
import type { PolicyImplementation } from '../flow/types.ts';
import { externalCalloutPolicy } from './extension/external-callout.ts';
import { javaScriptPolicy } from './extension/javascript.ts';
import { flowCalloutPolicy } from './extension/flow-callout.ts';
import { statisticsCollectorPolicy } from './extension/statistics-collector.ts';
import { accessEntityPolicy } from './mediation/access-entity.ts';
import { assignMessagePolicy } from './mediation/assign-message.ts';
import { extractVariablesPolicy } from './mediation/extract-variables.ts';
import { jsonToXmlPolicy } from './mediation/json-to-xml.ts';
import { keyValueMapOperationsPolicy } from './mediation/key-value-map-operations.ts';
import { raiseFaultPolicy } from './mediation/raise-fault.ts';
import { xmlToJsonPolicy } from './mediation/xml-to-json.ts';
import { soapMessageValidationPolicy } from './mediation/soap-message-validation.ts';
import { xslTransformPolicy } from './mediation/xsl-transform.ts';
import { serviceCalloutPolicy } from './extension/service-callout.ts';
import { pythonScriptPolicy } from './extension/python-script.ts';
import { javaCalloutPolicy } from './extension/java-callout.ts';
import { messageLoggingPolicy } from './extension/message-logging.ts';
import { accessControlPolicy } from './security/access-control.ts';
import { basicAuthenticationPolicy } from './security/basic-authentication.ts';
import { corsPolicy } from './security/cors.ts';
import { decodeJwsPolicy } from './security/decode-jws.ts';
import { decodeJwtPolicy } from './security/decode-jwt.ts';
import { generateJwsPolicy } from './security/generate-jws.ts';
import { generateJwtPolicy } from './security/generate-jwt.ts';
import { jsonThreatProtectionPolicy } from './security/json-threat-protection.ts';
import { oauthV2Policy } from './security/oauth-v2.ts';
import { getOAuthV2InfoPolicy } from './security/get-oauth-v2-info.ts';
import { setOAuthV2InfoPolicy } from './security/set-oauth-v2-info.ts';
import { deleteOAuthV2InfoPolicy } from './security/delete-oauth-v2-info.ts';
import { regularExpressionProtectionPolicy } from './security/regular-expression-protection.ts';
import { verifyApiKeyPolicy } from './security/verify-api-key.ts';
import { verifyJwsPolicy } from './security/verify-jws.ts';
import { verifyJwtPolicy } from './security/verify-jwt.ts';
import { xmlThreatProtectionPolicy } from './security/xml-threat-protection.ts';
import { invalidateCachePolicy } from './traffic/invalidate-cache.ts';
import { lookupCachePolicy } from './traffic/lookup-cache.ts';
import { populateCachePolicy } from './traffic/populate-cache.ts';
import { quotaPolicy } from './traffic/quota.ts';
import { resetQuotaPolicy } from './traffic/reset-quota.ts';
import { responseCachePolicy } from './traffic/response-cache.ts';
import { spikeArrestPolicy } from './traffic/spike-arrest.ts';

export const policyImplementations: readonly PolicyImplementation<never>[] = [
  quotaPolicy,
  spikeArrestPolicy,
  resetQuotaPolicy,
  responseCachePolicy,
  lookupCachePolicy,
  populateCachePolicy,
  invalidateCachePolicy,
  jsonToXmlPolicy,
  xmlToJsonPolicy,
  raiseFaultPolicy,
  xslTransformPolicy,
  soapMessageValidationPolicy,
  assignMessagePolicy,
  extractVariablesPolicy,
  accessEntityPolicy,
  keyValueMapOperationsPolicy,
  verifyApiKeyPolicy,
  oauthV2Policy,
  getOAuthV2InfoPolicy,
  setOAuthV2InfoPolicy,
  deleteOAuthV2InfoPolicy,
  basicAuthenticationPolicy,
  accessControlPolicy,
  jsonThreatProtectionPolicy,
  xmlThreatProtectionPolicy,
  regularExpressionProtectionPolicy,
  corsPolicy,
  verifyJwtPolicy,
  generateJwtPolicy,
  decodeJwtPolicy,
  verifyJwsPolicy,
  generateJwsPolicy,
  decodeJwsPolicy,
  externalCalloutPolicy,
  serviceCalloutPolicy,
  javaScriptPolicy,
  pythonScriptPolicy,
  javaCalloutPolicy,
  flowCalloutPolicy,
  messageLoggingPolicy,
  statisticsCollectorPolicy,
];

export const policyRegistry: ReadonlyMap<string, PolicyImplementation<never>> = new Map(
  policyImplementations.map((p) => [p.type, p]),
);
