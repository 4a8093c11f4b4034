// What GetOAuthV2Info and SetOAuthV2Info put in the flow (docs/policies.md#getoauthv2info-setoauthv2info-deleteoauthv2info):
// a stored token's or code's profile as Apigee's oauthv2accesstoken / oauthv2refreshtoken /
// oauthv2authcode.{policy}.* variables, and their faults (Apigee's fault codes; 500 for Get and Set,
// 401 for Delete, as Apigee answers).
import { PolicyFault } from '../../../flow/faults.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import type { TokenRecord } from './records.ts';

export type InfoKind = 'access' | 'refresh' | 'code';

const CODES: Record<InfoKind, { invalid: string; expired: string; text: string }> = {
  access: {
    invalid: 'steps.oauth.v2.invalid_access_token',
    expired: 'steps.oauth.v2.access_token_expired',
    text: 'Access Token',
  },
  refresh: {
    invalid: 'steps.oauth.v2.invalid_refresh_token',
    expired: 'steps.oauth.v2.refresh_token_expired',
    text: 'Refresh Token',
  },
  code: {
    invalid: 'steps.oauth.v2.invalid_request-authorization_code_invalid',
    expired: 'steps.oauth.v2.authorization_code_expired',
    text: 'Authorization Code',
  },
};

export const unknownToken = (kind: InfoKind, status: number) =>
  new PolicyFault({ status, errorCode: CODES[kind].invalid, faultString: `Invalid ${CODES[kind].text}` });
export const expiredToken = (kind: InfoKind, status: number) =>
  new PolicyFault({ status, errorCode: CODES[kind].expired, faultString: `${CODES[kind].text} expired` });
export const unresolvedToken = (member: string) =>
  new PolicyFault({ status: 500, errorCode: 'steps.oauth.v2.TokenValueRequired', faultString: `${member}: no value` });
export const unknownClient = () =>
  new PolicyFault({
    status: 500,
    errorCode: 'steps.oauth.v2.invalid_client-invalid_client_id',
    faultString: 'Invalid client id',
  });

const PREFIX: Record<InfoKind, string> = {
  access: 'oauthv2accesstoken',
  refresh: 'oauthv2refreshtoken',
  code: 'oauthv2authcode',
};

/** The stored profile of a token or code as `{prefix}.{policy}.*` variables. */
export function setProfileVariables(
  ctx: PolicyContext,
  policy: string,
  kind: InfoKind,
  token: string,
  record: TokenRecord,
): void {
  const prefix = `${PREFIX[kind]}.${policy}`;
  const tokenName = { access: 'access_token', refresh: 'refresh_token', code: 'code' }[kind];
  const values: Record<string, string> = {
    [tokenName]: token,
    client_id: record.clientId,
    application_name: record.appName,
    'developer.email': record.developerEmail,
    issued_at: String(record.issuedAt),
    expires_in: String(Math.max(0, Math.floor((record.expiresAt - ctx.now()) / 1000))),
    status: record.status,
    scope: record.scope,
    api_product_list: `[${record.products.join(', ')}]`,
    refresh_count: String(record.refreshCount),
  };
  if (kind === 'code' && record.redirectUri !== undefined) values.redirect_uri = record.redirectUri;
  if (record.appEndUser !== undefined) values.app_enduser = record.appEndUser;
  const attributePrefix = kind === 'code' ? '' : 'accesstoken.';
  for (const [name, attribute] of Object.entries(record.attributes))
    values[`${attributePrefix}${name}`] = attribute.value;
  for (const [name, value] of Object.entries(values)) ctx.variables.set(`${prefix}.${name}`, value);
}
