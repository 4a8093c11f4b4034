// The one table of policy converters: an Apigee policy type converts when it has a row here, and its
// Gatehouse type is implemented (protos/policies/index.ts). Adding a policy type to the importer: one
// file in this folder and one row below. Every other type is reported, with the reason below when
// there is a specific one.
import { policyTypesByName } from '../../../../protos/policies/index.ts';
import { accessControlConverter } from './access-control.ts';
import { accessEntityConverter } from './access-entity.ts';
import { assignMessageConverter } from './assign-message.ts';
import { basicAuthenticationConverter } from './basic-authentication.ts';
import { corsConverter } from './cors.ts';
import { decodeJwsConverter } from './decode-jws.ts';
import { decodeJwtConverter } from './decode-jwt.ts';
import { deleteOAuthV2InfoConverter } from './delete-oauth-v2-info.ts';
import { externalCalloutConverter } from './external-callout.ts';
import { extractVariablesConverter } from './extract-variables.ts';
import { flowCalloutConverter } from './flow-callout.ts';
import { statisticsCollectorConverter } from './statistics-collector.ts';
import { generateJwsConverter } from './generate-jws.ts';
import { generateJwtConverter } from './generate-jwt.ts';
import { getOAuthV2InfoConverter } from './get-oauth-v2-info.ts';
import { invalidateCacheConverter } from './invalidate-cache.ts';
import { javaScriptConverter } from './javascript.ts';
import { jsonThreatProtectionConverter } from './json-threat-protection.ts';
import { javaCalloutConverter } from './java-callout.ts';
import { jsonToXmlConverter } from './json-to-xml.ts';
import { keyValueMapOperationsConverter } from './key-value-map-operations.ts';
import { lookupCacheConverter } from './lookup-cache.ts';
import { messageLoggingConverter } from './message-logging.ts';
import { oauthV2Converter } from './oauth-v2.ts';
import { pythonScriptConverter } from './python-script.ts';
import { populateCacheConverter } from './populate-cache.ts';
import { quotaConverter } from './quota.ts';
import { raiseFaultConverter } from './raise-fault.ts';
import { regularExpressionProtectionConverter } from './regular-expression-protection.ts';
import { resetQuotaConverter } from './reset-quota.ts';
import { serviceCalloutConverter } from './service-callout.ts';
import { responseCacheConverter } from './response-cache.ts';
import { setOAuthV2InfoConverter } from './set-oauth-v2-info.ts';
import { soapMessageValidationConverter } from './soap-message-validation.ts';
import { spikeArrestConverter } from './spike-arrest.ts';
import type { PolicyConverter } from './support.ts';
import { verifyApiKeyConverter } from './verify-api-key.ts';
import { verifyJwsConverter } from './verify-jws.ts';
import { verifyJwtConverter } from './verify-jwt.ts';
import { xmlThreatProtectionConverter } from './xml-threat-protection.ts';
import { xmlToJsonConverter } from './xml-to-json.ts';
import { xslConverter } from './xsl.ts';

export const policyConverters: readonly PolicyConverter[] = [
  quotaConverter,
  spikeArrestConverter,
  resetQuotaConverter,
  responseCacheConverter,
  lookupCacheConverter,
  populateCacheConverter,
  invalidateCacheConverter,
  raiseFaultConverter,
  assignMessageConverter,
  extractVariablesConverter,
  verifyApiKeyConverter,
  basicAuthenticationConverter,
  accessControlConverter,
  jsonThreatProtectionConverter,
  xmlThreatProtectionConverter,
  regularExpressionProtectionConverter,
  corsConverter,
  jsonToXmlConverter,
  xmlToJsonConverter,
  xslConverter,
  soapMessageValidationConverter,
  accessEntityConverter,
  keyValueMapOperationsConverter,
  verifyJwtConverter,
  generateJwtConverter,
  decodeJwtConverter,
  verifyJwsConverter,
  generateJwsConverter,
  decodeJwsConverter,
  oauthV2Converter,
  getOAuthV2InfoConverter,
  setOAuthV2InfoConverter,
  deleteOAuthV2InfoConverter,
  externalCalloutConverter,
  serviceCalloutConverter,
  javaScriptConverter,
  pythonScriptConverter,
  javaCalloutConverter,
  flowCalloutConverter,
  messageLoggingConverter,
  statisticsCollectorConverter,
];

const byType = new Map(policyConverters.map((c) => [c.type, c]));

/** The Gatehouse type a converter writes. */
export const gatehouseTypeOf = (c: PolicyConverter): string => c.gatehouseType ?? c.type;

/** The converter for an Apigee root element, when both the converter and the Gatehouse type exist. */
export function converterFor(type: string): PolicyConverter | undefined {
  const c = byType.get(type);
  return c && policyTypesByName.has(gatehouseTypeOf(c)) ? c : undefined;
}

/** Why a policy type does not convert: a specific reason for types Apigee bundles often hold. */
const reasons: Record<string, string> = {};

/** Apigee root elements whose Gatehouse type has another name. */
const gatehouseType: Record<string, string> = { XSL: 'XSLTransform', MessageValidation: 'SOAPMessageValidation' };

export function unsupportedReason(type: string): string {
  const implemented = gatehouseType[type] ?? type;
  if (policyTypesByName.has(implemented))
    return `Gatehouse implements ${implemented}, but the importer has no converter for it yet`;
  return (
    reasons[type] ??
    `policy type ${type} has no Gatehouse implementation yet (supported: ${policyConverters
      .filter((c) => policyTypesByName.has(gatehouseTypeOf(c)))
      .map((c) => c.type)
      .join(', ')})`
  );
}
