// DecodeJWT (Apigee's DecodeJWT, docs/policies.md#decodejwt): the header and claims of a JWT into
// jwt.{policy}.*, without verifying anything; a token that does not decode is Apigee's 401
// FailedToDecode. The size bound and duplicate-member refusal of jwt/token.ts apply.
import { decodeJWT, type DecodeJwtConfig } from '../../../../protos/policies/security/decode-jwt.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { setClaimVariables, setDecodedClaimVariables, setHeaderVariables } from './jwt/claims.ts';
import { joseFaults } from './jwt/faults.ts';
import { decodeJsonObject, splitCompact, TokenDecodeError, tokenText } from './jwt/token.ts';
import { DEFAULT_TOKEN_SOURCE } from './verify-jwt.ts';

const faults = joseFaults('jwt', 401);

export const decodeJwtPolicy: PolicyImplementation<DecodeJwtConfig> = {
  type: 'DecodeJWT',
  create(config, meta) {
    checkConfig(decodeJWT, config, meta);
    const prefix = `jwt.${meta.name}`;
    const source = config.source ?? DEFAULT_TOKEN_SOURCE;
    return (ctx) => {
      try {
        const raw = ctx.variables.getString(source);
        if (raw === undefined)
          throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable ${source}`);
        let claims: Record<string, unknown>;
        try {
          const parts = splitCompact(tokenText(raw));
          setHeaderVariables(ctx.variables, prefix, parts.header);
          claims = decodeJsonObject(parts.payloadB64, 'the payload');
        } catch (err) {
          if (err instanceof TokenDecodeError) throw faults.undecodable(`Failed to Decode Token: ${err.message}`);
          throw err;
        }
        setDecodedClaimVariables(ctx.variables, prefix, claims);
        setClaimVariables(ctx.variables, prefix, claims, ctx.now());
      } catch (err) {
        if (err instanceof PolicyFault) {
          ctx.variables.set(`${prefix}.error`, err.message);
          ctx.variables.set(`${prefix}.failed`, true);
        }
        throw err;
      }
      ctx.variables.set(`${prefix}.failed`, false);
      return undefined;
    };
  },
};
