// InvalidateToken and ValidateToken (docs/policies.md#oauthv2): revoke tokens, or approve revoked ones
// again, with their paired token when cascade (default true). The status flag is flipped in place in
// the store, which every replica reads on every verification. An unknown token is no error (RFC 7009 2.2).
import type { OAuthV2Config } from '../../../../../protos/policies/security/oauth-v2.ts';
import type { PolicyContext } from '../../../flow/types.ts';
import { MAX_TOKEN_LENGTH, TokenRecords, type TokenStatus } from './records.ts';

export async function setTokensStatus(ctx: PolicyContext, config: OAuthV2Config, status: TokenStatus): Promise<void> {
  const records = new TokenRecords(ctx, ctx.proxy.namespace);
  for (const ref of config.tokens ?? []) {
    const value = ctx.variables.resolve(ref.value);
    if (value === undefined || value === '' || String(value).length > MAX_TOKEN_LENGTH) continue;
    const token = String(value);
    const kind = ref.type === 'accesstoken' ? 'access' : 'refresh';
    const record = await records.load(kind, token);
    if (!record) continue;
    await records.setStatus(records.id(kind, token), status);
    if (ref.cascade !== false) for (const id of record.pairIds) await records.setStatus(id, status);
  }
}
