// DecodeJWS (Apigee's DecodeJWS, docs/policies.md#decodejws): a JWS's header (and its payload when
// attached) into jws.{policy}.*, without verifying anything; one that does not decode is Apigee's 401
// FailedToDecode.
import { decodeJWS, type DecodeJwsConfig } from '../../../../protos/policies/security/decode-jws.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { setHeaderVariables } from './jwt/claims.ts';
import { joseFaults } from './jwt/faults.ts';
import { base64urlBytes, splitCompact, TokenDecodeError, tokenText } from './jwt/token.ts';
import { DEFAULT_TOKEN_SOURCE } from './verify-jwt.ts';

const faults = joseFaults('jws', 401);

export const decodeJwsPolicy: PolicyImplementation<DecodeJwsConfig> = {
  type: 'DecodeJWS',
  create(config, meta) {
    checkConfig(decodeJWS, config, meta);
    const prefix = `jws.${meta.name}`;
    const source = config.source ?? DEFAULT_TOKEN_SOURCE;
    return (ctx) => {
      try {
        const raw = ctx.variables.getString(source);
        if (raw === undefined)
          throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable ${source}`);
        try {
          const parts = splitCompact(tokenText(raw));
          setHeaderVariables(ctx.variables, prefix, parts.header);
          if (parts.payloadB64 !== '') {
            const payload =
              parts.header.b64 === false
                ? parts.payloadB64
                : base64urlBytes(parts.payloadB64, 'the payload').toString('utf8');
            ctx.variables.set(`${prefix}.payload`, payload);
          }
        } catch (err) {
          if (err instanceof TokenDecodeError) throw faults.undecodable(`Failed to Decode JWS: ${err.message}`);
          throw err;
        }
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
