// Issuing access and refresh tokens, and what a token looks like to the client and the flow: Apigee's
// token response body and its oauthv2accesstoken.{policy}.* variables (docs/policies.md#oauthv2).
import type { OAuthV2Config } from '../../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext, PolicyMeta } from '../../../flow/types.ts';
import type { Client } from './clients.ts';
import { newToken, type TokenAttribute, type TokenRecord, type TokenRecords } from './records.ts';

export const DEFAULT_ACCESS_TOKEN_MS = 1_800_000;
export const DEFAULT_CODE_MS = 600_000;
export const DEFAULT_REFRESH_TOKEN_MS = 30 * 24 * 3_600_000;

/** A lifetime in ms from the config (literal or ref); an unset or unusable ref falls back to the default. */
export function lifetime(ctx: PolicyContext, value: OAuthV2Config['expiresIn'], fallback: number): number {
  const resolved = Number(ctx.variables.resolve(value));
  return Number.isFinite(resolved) && resolved > 0 ? resolved : fallback;
}

export function customAttributes(ctx: PolicyContext, config: OAuthV2Config): Record<string, TokenAttribute> {
  const out: Record<string, TokenAttribute> = {};
  for (const a of config.attributes ?? []) {
    const value = ctx.variables.resolve(a.value);
    out[a.name] = { value: value === undefined ? '' : String(value), display: a.display === true };
  }
  return out;
}

/** The end user id from the config's appEndUser (Apigee's AppEndUser), or undefined when unset or empty. */
export function appEndUserOf(ctx: PolicyContext, config: OAuthV2Config): string | undefined {
  if (config.appEndUser === undefined) return undefined;
  const value = ctx.variables.resolve(config.appEndUser);
  return value === undefined || value === null || value === '' ? undefined : String(value).slice(0, 1024);
}

/** What a JWT access token says (docs/policies.md#jwt-access-tokens); the minter signs it. */
export interface AccessTokenClaims {
  clientId: string;
  appEndUser: string | undefined;
  scope: string;
  issuedAt: number;
  expiresAt: number;
}

/** Makes the access token string for a record: a signed JWT for the JWT operations. */
export type AccessTokenMinter = (claims: AccessTokenClaims) => Promise<string>;

export interface Issued {
  accessToken: string;
  access: TokenRecord;
  refreshToken?: string;
  refresh?: TokenRecord;
}

export interface IssueInput {
  client: Client;
  products: string[];
  scope: string;
  grantType: string;
  withRefresh: boolean;
  /** A refresh token to keep (ReuseRefreshToken): its record is re-paired with the new access token. */
  keepRefresh?: { token: string; record: TokenRecord };
  refreshCount?: number;
  /** The end user the tokens are for (from the config, the code or the refresh token). */
  appEndUser?: string | undefined;
  /** Makes the access token (a JWT) instead of a random one. */
  mint?: AccessTokenMinter | undefined;
}

export async function issueTokens(
  ctx: PolicyContext,
  records: TokenRecords,
  config: OAuthV2Config,
  input: IssueInput,
): Promise<Issued> {
  const now = ctx.now();
  const external =
    config.externalAccessToken === undefined ? undefined : ctx.variables.resolve(config.externalAccessToken);
  const accessExpiresAt = now + lifetime(ctx, config.expiresIn, DEFAULT_ACCESS_TOKEN_MS);
  const accessToken = input.mint
    ? await input.mint({
        clientId: input.client.clientId,
        appEndUser: input.appEndUser,
        scope: input.scope,
        issuedAt: now,
        expiresAt: accessExpiresAt,
      })
    : typeof external === 'string' && external !== ''
      ? external
      : newToken();
  const base = {
    namespace: records.namespace,
    appName: input.client.app.name,
    clientId: input.client.clientId,
    keyHash: input.client.credential.keyHash,
    developerEmail: input.client.app.developerEmail,
    products: input.products,
    scope: input.scope,
    grantType: input.grantType,
    issuedAt: now,
    status: 'approved' as const,
    attributes: customAttributes(ctx, config),
    refreshCount: input.refreshCount ?? 0,
    ...(input.appEndUser !== undefined ? { appEndUser: input.appEndUser } : {}),
  };
  const access: TokenRecord = { ...base, expiresAt: accessExpiresAt, pairIds: [] };
  const issued: Issued = { accessToken, access };
  const accessId = records.id('access', accessToken);
  if (input.keepRefresh) {
    const { token, record } = input.keepRefresh;
    access.pairIds = [records.id('refresh', token)];
    record.pairIds = [accessId];
    record.refreshCount = input.refreshCount ?? record.refreshCount;
    await records.save('refresh', token, record);
    Object.assign(issued, { refreshToken: token, refresh: record });
  } else if (input.withRefresh) {
    const externalRefresh =
      config.externalRefreshToken === undefined ? undefined : ctx.variables.resolve(config.externalRefreshToken);
    const refreshToken = typeof externalRefresh === 'string' && externalRefresh !== '' ? externalRefresh : newToken();
    const refresh: TokenRecord = {
      ...base,
      expiresAt: now + lifetime(ctx, config.refreshTokenExpiresIn, DEFAULT_REFRESH_TOKEN_MS),
      pairIds: [accessId],
    };
    access.pairIds = [records.id('refresh', refreshToken)];
    await records.save('refresh', refreshToken, refresh);
    Object.assign(issued, { refreshToken, refresh });
  }
  await records.save('access', accessToken, access);
  return issued;
}

const seconds = (ms: number) => Math.max(0, Math.floor(ms / 1000));

/** Apigee's token response: every value a string (token_type BearerToken); RFC 6749 mode: Bearer, numbers. */
export function tokenResponse(ctx: PolicyContext, issued: Issued, rfc: boolean): Record<string, unknown> {
  const { access, refresh } = issued;
  const now = ctx.now();
  const num = (n: number) => (rfc ? n : String(n));
  const body: Record<string, unknown> = {
    issued_at: String(access.issuedAt),
    expires_in: num(seconds(access.expiresAt - now)),
    token_type: rfc ? 'Bearer' : 'BearerToken',
    access_token: issued.accessToken,
    client_id: access.clientId,
    application_name: access.appName,
    organization_name: access.namespace,
    'developer.email': access.developerEmail,
    api_product_list: `[${access.products.join(', ')}]`,
    api_product_list_json: access.products,
    scope: access.scope,
    refresh_count: String(access.refreshCount),
    status: access.status,
  };
  if (access.appEndUser !== undefined) body.app_enduser = access.appEndUser;
  if (issued.refreshToken !== undefined && refresh) {
    Object.assign(body, {
      refresh_token: issued.refreshToken,
      refresh_token_expires_in: num(seconds(refresh.expiresAt - now)),
      refresh_token_issued_at: String(refresh.issuedAt),
      refresh_token_status: refresh.status,
    });
  } else {
    body.refresh_token_expires_in = num(0);
  }
  for (const [name, attribute] of Object.entries(access.attributes)) {
    if (attribute.display && !(name in body)) body[name] = attribute.value;
  }
  return body;
}

/** oauthv2accesstoken.{policy}.*: the response's fields and every custom attribute, shown or not. */
export function setTokenVariables(ctx: PolicyContext, meta: PolicyMeta, issued: Issued): void {
  const prefix = `oauthv2accesstoken.${meta.name}`;
  const body = tokenResponse(ctx, issued, false);
  for (const [name, value] of Object.entries(body)) {
    if (name !== 'api_product_list_json') ctx.variables.set(`${prefix}.${name}`, String(value));
  }
  for (const [name, attribute] of Object.entries(issued.access.attributes)) {
    ctx.variables.set(`${prefix}.${name}`, attribute.value);
  }
}

export function jsonResponse(body: unknown): {
  respond: { status: number; headers: Record<string, string>; body: string };
} {
  return {
    respond: {
      status: 200,
      headers: { 'content-type': 'application/json', 'cache-control': 'no-store', pragma: 'no-cache' },
      body: JSON.stringify(body),
    },
  };
}
