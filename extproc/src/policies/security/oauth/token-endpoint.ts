// The token endpoint's operations (docs/policies.md#oauthv2): GenerateAccessToken for each grant type,
// RefreshAccessToken and GenerateAuthorizationCode. Each returns what was issued; oauth-v2.ts shapes
// the answer and the variables. Codes and rotated refresh tokens are taken atomically from the store,
// so each is redeemed once; a replayed code revokes the tokens its first redemption issued (RFC 6749 10.5).
import type { GrantType, OAuthV2Config } from '../../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import {
  approvedProducts,
  authenticateClient,
  findClient,
  grantedScope,
  param,
  stillApproved,
  type Client,
} from './clients.ts';
import {
  invalidClient,
  invalidGrant,
  invalidRequest,
  unsupportedGrantType,
  unsupportedResponseType,
} from './faults.ts';
import {
  appEndUserOf,
  customAttributes,
  DEFAULT_CODE_MS,
  issueTokens,
  lifetime,
  type AccessTokenMinter,
  type Issued,
} from './issue.ts';
import { newToken, type TokenRecord, TokenRecords } from './records.ts';

export interface TokenOutcome {
  kind: 'token';
  issued: Issued;
  client: Client;
}

export interface CodeOutcome {
  kind: 'code';
  code: string;
  record: TokenRecord;
  redirectUri: string;
  state: string | undefined;
  client: Client;
}

function required(value: string | undefined, name: string): string {
  if (value === undefined) throw invalidRequest(`Required param : ${name}`);
  return value;
}

/** `mint`: the JWT operations' signer; without it the access token is random (opaque). */
export async function generateAccessToken(
  ctx: PolicyContext,
  config: OAuthV2Config,
  mint?: AccessTokenMinter,
): Promise<TokenOutcome> {
  const grantType = param(ctx, config.grantType, 'grant_type');
  if (grantType === undefined) throw invalidRequest('Required param : grant_type');
  const supported: readonly string[] = config.supportedGrantTypes ?? ['client_credentials'];
  if (!supported.includes(grantType)) throw unsupportedGrantType(grantType);
  if (grantType === 'refresh_token') return refreshAccessToken(ctx, config, mint);
  const client = authenticateClient(ctx, config.externalAuthorization !== true, config.clientId);
  const records = new TokenRecords(ctx, client.app.namespace);
  switch (grantType as Exclude<GrantType, 'refresh_token'>) {
    case 'client_credentials': {
      const products = approvedProducts(ctx, client.app);
      const scope = grantedScope(products, param(ctx, config.scope, 'scope'));
      const issued = await issueTokens(ctx, records, config, {
        client,
        products: products.map((p) => p.name),
        scope,
        grantType,
        withRefresh: false,
        appEndUser: appEndUserOf(ctx, config),
        mint,
      });
      return { kind: 'token', issued, client };
    }
    case 'password': {
      // As in Apigee, the user's credentials are checked before this step (a ServiceCallout, say):
      // the policy only requires them to be present.
      required(param(ctx, config.userName, 'username'), 'username');
      required(param(ctx, config.password, 'password'), 'password');
      const products = approvedProducts(ctx, client.app);
      const scope = grantedScope(products, param(ctx, config.scope, 'scope'));
      const issued = await issueTokens(ctx, records, config, {
        client,
        products: products.map((p) => p.name),
        scope,
        grantType,
        withRefresh: true,
        appEndUser: appEndUserOf(ctx, config),
        mint,
      });
      return { kind: 'token', issued, client };
    }
    case 'authorization_code':
      return redeemCode(ctx, config, client, records, mint);
  }
}

async function redeemCode(
  ctx: PolicyContext,
  config: OAuthV2Config,
  client: Client,
  records: TokenRecords,
  mint: AccessTokenMinter | undefined,
): Promise<TokenOutcome> {
  const code = required(param(ctx, config.code, 'code'), 'code');
  const record = await records.take('code', code);
  if (!record) {
    const issuedBefore = await records.takeUsedCode(code);
    if (issuedBefore) await records.deleteIds(issuedBefore);
    throw invalidGrant('Invalid Authorization Code');
  }
  // The code is gone either way: a code presented by another client has leaked.
  if (record.keyHash !== client.credential.keyHash) throw invalidGrant('Invalid Authorization Code');
  if (record.expiresAt <= ctx.now()) throw invalidGrant('Authorization Code expired');
  const redirectUri = param(ctx, config.redirectUri, 'redirect_uri');
  if (record.redirectUri !== undefined) {
    if (redirectUri === undefined) throw invalidRequest('Required param : redirect_uri');
    if (redirectUri !== record.redirectUri) throw invalidRequest(`Invalid redirect_uri : ${redirectUri}`);
  }
  const products = approvedProducts(ctx, client.app, record.products).map((p) => p.name);
  const issued = await issueTokens(ctx, records, config, {
    client,
    products,
    scope: record.scope,
    grantType: 'authorization_code',
    withRefresh: true,
    appEndUser: record.appEndUser,
    mint,
  });
  const ids = [records.id('access', issued.accessToken), records.id('refresh', issued.refreshToken!)];
  await records.markCodeUsed(code, ids, issued.refresh!.expiresAt);
  return { kind: 'token', issued, client };
}

export async function refreshAccessToken(
  ctx: PolicyContext,
  config: OAuthV2Config,
  mint?: AccessTokenMinter,
): Promise<TokenOutcome> {
  const grantType = param(ctx, config.grantType, 'grant_type');
  if (grantType !== undefined && grantType !== 'refresh_token') throw unsupportedGrantType(grantType);
  const client = authenticateClient(ctx, config.externalAuthorization !== true, config.clientId);
  const token = required(param(ctx, config.refreshToken, 'refresh_token'), 'refresh_token');
  const records = new TokenRecords(ctx, client.app.namespace);
  const record = await records.load('refresh', token);
  if (!record || record.keyHash !== client.credential.keyHash || record.status !== 'approved') {
    throw invalidGrant('Invalid Refresh Token');
  }
  if (record.expiresAt <= ctx.now()) throw invalidGrant('Refresh Token expired');
  if (!stillApproved(ctx, record.keyHash)) throw invalidClient('Client is not approved');
  const reuse = config.reuseRefreshToken === true;
  // Rotation: of two concurrent refreshes with one token, one takes it; the other is refused.
  if (!reuse && !(await records.take('refresh', token))) throw invalidGrant('Invalid Refresh Token');
  await records.deleteIds(record.pairIds);
  const issued = await issueTokens(ctx, records, config, {
    client,
    products: approvedProducts(ctx, client.app, record.products).map((p) => p.name),
    scope: record.scope,
    grantType: record.grantType,
    withRefresh: true,
    refreshCount: record.refreshCount + 1,
    appEndUser: record.appEndUser,
    mint,
    ...(reuse ? { keepRefresh: { token, record } } : {}),
  });
  return { kind: 'token', issued, client };
}

export async function generateAuthorizationCode(ctx: PolicyContext, config: OAuthV2Config): Promise<CodeOutcome> {
  const responseType = param(ctx, config.responseType, 'response_type');
  if (responseType === undefined) {
    throw invalidRequest('The request is missing a required parameter : response_type');
  }
  if (responseType !== 'code') throw unsupportedResponseType();
  const clientId = param(ctx, config.clientId, 'client_id');
  if (clientId === undefined) throw invalidRequest('The request is missing a required parameter : client_id');
  const client = findClient(ctx, clientId);
  const callback = client.app.callbackUrl;
  const asked = param(ctx, config.redirectUri, 'redirect_uri');
  // Only the app's registered callback: anything else would make the gateway an open redirector.
  if (asked !== undefined && asked !== callback) throw invalidRequest(`Invalid redirection uri ${asked}`);
  if (callback === '') throw invalidRequest('Redirection URI is required');
  const products = approvedProducts(ctx, client.app);
  const scope = grantedScope(products, param(ctx, config.scope, 'scope'));
  const now = ctx.now();
  const code = newToken();
  const record: TokenRecord = {
    namespace: client.app.namespace,
    appName: client.app.name,
    clientId,
    keyHash: client.credential.keyHash,
    developerEmail: client.app.developerEmail,
    products: products.map((p) => p.name),
    scope,
    grantType: 'authorization_code',
    issuedAt: now,
    expiresAt: now + lifetime(ctx, config.expiresIn, DEFAULT_CODE_MS),
    status: 'approved',
    attributes: customAttributes(ctx, config),
    pairIds: [],
    refreshCount: 0,
    ...(asked !== undefined ? { redirectUri: asked } : {}),
  };
  const appEndUser = appEndUserOf(ctx, config);
  if (appEndUser !== undefined) record.appEndUser = appEndUser;
  await new TokenRecords(ctx, client.app.namespace).save('code', code, record);
  return { kind: 'code', code, record, redirectUri: callback, state: param(ctx, config.state, 'state'), client };
}
