// VerifyJWS (Apigee's VerifyJWS, docs/policies.md#verifyjws): a compact JWS, or a detached one
// (header..signature) with its content in a variable, RFC 7797 b64=false included; the signature is
// verified through jose against the allow-list and keys (jwt/verify.ts), then the additional headers.
// Sets jws.{policy}.* and jws.{policy}.failed; failures are Apigee's 401 faults.
import { verifyJWS, type VerifyJwsConfig } from '../../../../protos/policies/security/verify-jws.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { claimMatches, claimValue, setHeaderVariables } from './jwt/claims.ts';
import { joseFaults, jwsFault } from './jwt/faults.ts';
import { splitCompact, TokenDecodeError, tokenText, type CompactParts } from './jwt/token.ts';
import { quoted, verificationStep, verifySignature } from './jwt/verify.ts';
import { DEFAULT_TOKEN_SOURCE } from './verify-jwt.ts';

const faults = joseFaults('jws', 401);

function checkHeaders(ctx: PolicyContext, config: VerifyJwsConfig, header: Record<string, unknown>): void {
  for (const h of config.additionalHeaders ?? []) {
    let value: unknown;
    try {
      value = claimValue(ctx.variables, h);
    } catch {
      throw faults.fault('FailedToResolveVariable', `The variable of header ${quoted(h.name)} does not hold JSON`);
    }
    if (value === undefined) {
      if (config.ignoreUnresolvedVariables) continue;
      throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable of header ${quoted(h.name)}`);
    }
    if (!claimMatches(value, header[h.name])) throw faults.fault('InvalidClaim', `Invalid header: ${quoted(h.name)}`);
  }
}

async function verify(ctx: PolicyContext, meta: PolicyMeta, config: VerifyJwsConfig, prefix: string): Promise<void> {
  const source = config.source ?? DEFAULT_TOKEN_SOURCE;
  const raw = ctx.variables.getString(source);
  if (raw === undefined) throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable ${source}`);
  let parts: CompactParts;
  try {
    parts = splitCompact(tokenText(raw));
  } catch (err) {
    if (err instanceof TokenDecodeError) throw faults.undecodable(`Failed to Decode JWS: ${err.message}`);
    throw err;
  }
  setHeaderVariables(ctx.variables, prefix, parts.header);
  let detached: string | undefined;
  if (config.detachedContent !== undefined) {
    if (parts.payloadB64 !== '')
      throw jwsFault('ContentIsNotDetached', 401, 'The JWS is not detached: it carries its content');
    detached = ctx.variables.getString(config.detachedContent);
    if (detached === undefined)
      throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable ${config.detachedContent}`);
  } else if (parts.payloadB64 === '') {
    throw jwsFault('MissingPayload', 401, 'The JWS has no content and no DetachedContent is configured');
  }
  const payload = await verifySignature(ctx, meta, config, faults, parts, detached);
  checkHeaders(ctx, config, parts.header);
  ctx.variables.set(`${prefix}.payload`, Buffer.from(payload).toString('utf8'));
}

export const verifyJwsPolicy: PolicyImplementation<VerifyJwsConfig> = {
  type: 'VerifyJWS',
  create(config, meta) {
    checkConfig(verifyJWS, config, meta);
    const prefix = `jws.${meta.name}`;
    return verificationStep(prefix, (ctx) => verify(ctx, meta, config, prefix));
  },
};
