// VerifyAccessToken (docs/policies.md#oauthv2): the bearer token is looked up in the store on every
// request (no local cache, so a revocation anywhere is seen at once), its app must still be approved,
// one of its products must cover this proxy, path and method, and it must hold one of the required
// scopes. Sets the variables Apigee sets.
import type { Product__Output } from '../../../../../protos/gen/gatehouse/v1/Product.ts';
import type { OAuthV2Config } from '../../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import { covers } from '../verify-api-key.ts';
import { approvedProducts, stillApproved } from './clients.ts';
import {
  accessTokenExpired,
  accessTokenNotApproved,
  appNotApproved,
  insufficientScope,
  invalidAccessToken,
  missingBearer,
  noProductMatch,
  unresolvedAccessToken,
} from './faults.ts';
import { MAX_TOKEN_LENGTH, TokenRecords, type TokenRecord } from './records.ts';

/** The bearer token: from the accessToken ref, else the Authorization header after the prefix. */
export function presentedToken(ctx: PolicyContext, config: OAuthV2Config): string {
  if (config.accessToken !== undefined) {
    const value = ctx.variables.resolve(config.accessToken);
    if (value === undefined || value === '') throw unresolvedAccessToken();
    return String(value);
  }
  const header = ctx.request.headers.get('authorization');
  const prefix = (config.accessTokenPrefix ?? 'Bearer').toLowerCase();
  if (header === undefined) throw missingBearer();
  const space = header.indexOf(' ');
  if (space < 0 || header.slice(0, space).toLowerCase() !== prefix) throw missingBearer();
  const token = header.slice(space + 1).trim();
  if (token === '') throw missingBearer();
  return token;
}

export async function verifyAccessToken(ctx: PolicyContext, config: OAuthV2Config): Promise<void> {
  await verifyStoredToken(ctx, config, presentedToken(ctx, config));
}

/**
 * The checks every access token passes, opaque or JWT: known in the proxy's namespace, approved,
 * unexpired, its app still approved, a product covering this call, one of the required scopes.
 */
export async function verifyStoredToken(ctx: PolicyContext, config: OAuthV2Config, token: string): Promise<void> {
  if (token.length > MAX_TOKEN_LENGTH) throw invalidAccessToken();
  // The proxy's namespace is part of the record id: a token of another namespace is unknown here.
  const record = await new TokenRecords(ctx, ctx.proxy.namespace).load('access', token);
  if (!record) throw invalidAccessToken();
  if (record.status !== 'approved') throw accessTokenNotApproved();
  if (record.expiresAt <= ctx.now()) throw accessTokenExpired();
  const client = stillApproved(ctx, record.keyHash);
  if (!client) throw appNotApproved();
  const product = approvedProducts(ctx, client.app, record.products).find((p) => covers(p, ctx));
  if (!product) throw noProductMatch();
  const required = config.scope === undefined ? undefined : ctx.variables.resolve(config.scope);
  if (required !== undefined && String(required).trim() !== '') {
    const held = new Set(record.scope.split(/\s+/));
    const anyOf = String(required)
      .split(/\s+/)
      .filter((s) => s !== '');
    if (!anyOf.some((s) => held.has(s))) throw insufficientScope(anyOf.join(' '));
  }
  setVerifiedVariables(ctx, token, record, client.app.attributes, product);
}

function setVerifiedVariables(
  ctx: PolicyContext,
  token: string,
  record: TokenRecord,
  appAttributes: Record<string, string>,
  product: Product__Output,
): void {
  const values: Record<string, string> = {
    organization_name: record.namespace,
    client_id: record.clientId,
    'developer.app.name': record.appName,
    'developer.email': record.developerEmail,
    grant_type: record.grantType,
    token_type: 'BearerToken',
    access_token: token,
    issued_at: String(record.issuedAt),
    expires_in: String(Math.max(0, Math.floor((record.expiresAt - ctx.now()) / 1000))),
    status: record.status,
    scope: record.scope,
    'apiproduct.name': product.name,
  };
  if (record.appEndUser !== undefined) values.app_enduser = record.appEndUser;
  for (const [name, value] of Object.entries(product.attributes)) values[`apiproduct.${name}`] = value;
  for (const [name, value] of Object.entries(appAttributes)) values[`app.${name}`] = value;
  for (const [name, attribute] of Object.entries(record.attributes)) values[`accesstoken.${name}`] = attribute.value;
  if (product.quota && Number(product.quota.limit) > 0) {
    values['apiproduct.developer.quota.limit'] = String(product.quota.limit);
    values['apiproduct.developer.quota.interval'] = String(product.quota.interval);
    values['apiproduct.developer.quota.timeunit'] = product.quota.timeUnit;
  }
  for (const [name, value] of Object.entries(values)) ctx.variables.set(name, value);
}
