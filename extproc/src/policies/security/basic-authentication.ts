// BasicAuthentication: Encode builds `Basic base64(user:password)` into a variable (by default the
// request's Authorization header) from literals, refs or Secret keys (read from the snapshot's
// policy secrets, never logged); Decode splits such a header into user and password variables.
import {
  basicAuthentication,
  type BasicAuthenticationConfig,
} from '../../../../protos/policies/security/basic-authentication.ts';
import { secretRefOf, type RefOr } from '../../../../protos/policies/schema.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation, PolicyMeta, PolicyStep } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

const AUTHORIZATION = 'request.header.Authorization';
const BASIC = /^Basic[ \t]+([A-Za-z0-9+/]+={0,2})[ \t]*$/i;

function unresolved(name: string): PolicyFault {
  return new PolicyFault({
    status: 500,
    errorCode: 'steps.basicauthentication.UnresolvedVariable',
    faultString: `Unresolved variable : ${name}`,
  });
}

/** 401 with a challenge by default; `faultStatus: 500` is Apigee's answer (docs/policies.md#apigee-fault-differences). */
function invalidSource(source: string, status: 401 | 500 = 401): PolicyFault {
  return new PolicyFault({
    status,
    errorCode: 'steps.basicauthentication.InvalidBasicAuthenticationSource',
    faultString: `Source variable : ${source} for basic authentication decode policy is not valid`,
    ...(status === 401 ? { headers: { 'www-authenticate': 'Basic' } } : {}),
  });
}

/** user and password from a header value, or undefined when it is not well-formed Basic credentials. */
export function decodeBasic(header: string): { user: string; password: string } | undefined {
  const match = BASIC.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined || encoded.length % 4 !== 0) return undefined;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function encodeStep(config: BasicAuthenticationConfig, meta: PolicyMeta): PolicyStep {
  const target = config.assignTo ?? AUTHORIZATION;
  const nameOf = (value: BasicAuthenticationConfig['user']) => {
    const secret = secretRefOf(value);
    if (secret) return `secretRef ${secret.name}/${secret.key}`;
    return typeof value === 'object' && 'ref' in value ? value.ref : 'literal';
  };
  // A secretRef is read from the snapshot's policy secrets (never from the config) on every request, so
  // a rotated Secret applies without this step being built again.
  const read = (ctx: PolicyContext, value: BasicAuthenticationConfig['user']) => {
    const secret = secretRefOf(value);
    return secret ? ctx.runtime.policySecret(meta.namespace, secret) : ctx.variables.resolve(value as RefOr<string>);
  };
  return (ctx) => {
    const user = read(ctx, config.user);
    const password = read(ctx, config.password);
    if (user === undefined) throw unresolved(nameOf(config.user));
    if (password === undefined) throw unresolved(nameOf(config.password));
    ctx.variables.set(target, `Basic ${Buffer.from(`${user}:${password}`, 'utf8').toString('base64')}`);
    return undefined;
  };
}

function decodeStep(config: BasicAuthenticationConfig): PolicyStep {
  const source = config.source ?? AUTHORIZATION;
  // checkConfig has made sure both are refs: Decode writes into them.
  const userVariable = (config.user as { ref: string }).ref;
  const passwordVariable = (config.password as { ref: string }).ref;
  return (ctx) => {
    const credentials = decodeBasic(ctx.variables.getString(source) ?? '');
    if (!credentials) throw invalidSource(source, config.faultStatus);
    ctx.variables.set(userVariable, credentials.user);
    ctx.variables.set(passwordVariable, credentials.password);
    return undefined;
  };
}

export const basicAuthenticationPolicy: PolicyImplementation<BasicAuthenticationConfig> = {
  type: 'BasicAuthentication',
  create(config, meta) {
    checkConfig(basicAuthentication, config, meta);
    return config.operation === 'Encode' ? encodeStep(config, meta) : decodeStep(config);
  },
};
