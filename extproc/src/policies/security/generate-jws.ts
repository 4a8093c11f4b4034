// GenerateJWS (Apigee's GenerateJWS, docs/policies.md#generatejws): signs the value of the payload
// variable through jose (jwt/sign.ts) into the output variable, as a compact JWS or, with
// detachContent, as header..signature (RFC 7515 Appendix F). Failures are Apigee's 500 faults.
import { generateJWS, type GenerateJwsConfig } from '../../../../protos/policies/security/generate-jws.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';
import { joseFaults } from './jwt/faults.ts';
import { signCompact } from './jwt/sign.ts';

const faults = joseFaults('jws', 500);

export const generateJwsPolicy: PolicyImplementation<GenerateJwsConfig> = {
  type: 'GenerateJWS',
  create(config, meta) {
    checkConfig(generateJWS, config, meta);
    const prefix = `jws.${meta.name}`;
    return async (ctx) => {
      try {
        const payload = ctx.variables.get(config.payload);
        if (payload === undefined || payload === null)
          throw faults.fault('FailedToResolveVariable', `Failed to resolve the variable ${config.payload}`);
        const bytes = Buffer.isBuffer(payload)
          ? payload
          : Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload), 'utf8');
        const base = config.contentType === undefined ? {} : { cty: config.contentType };
        const jws = await signCompact(ctx, meta, config, faults, bytes, base);
        const [header, , signature] = jws.split('.');
        ctx.variables.set(config.outputVariable, config.detachContent ? `${header}..${signature}` : jws);
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
