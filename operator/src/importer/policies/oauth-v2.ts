// <OAuthV2> -> OAuthV2 (docs/policies.md#oauthv2). Apigee names the variable that holds each request
// value (<GrantType>request.queryparam.grant_type</GrantType>, <Code>, <ClientId>, ...): each becomes
// {ref: that variable}. <Scope> is a variable for the Generate operations and the required scopes for
// VerifyAccessToken. <ExpiresIn ref>ms</ExpiresIn> keeps the ref (the literal is the fallback).
import {
  GRANT_TYPES,
  JWT_ACCESS_TOKEN_ALGORITHMS,
  JWT_OPERATIONS,
  OAUTH_OPERATIONS,
  type GrantType,
  type OAuthOperation,
} from '../../../../protos/policies/security/oauth-v2.ts';
import type { XmlElement } from '../xml.ts';
import { privateKey, publicKey, secretKey, SKIP } from './jwt-common.ts';
import { attributes, enabled } from './oauth-common.ts';
import { bool, compact, int, refOrText, type PolicyContext, type PolicyConverter } from './support.ts';

const MAX_LIFETIME_MS = 400 * 24 * 3600 * 1000;

function variable(el: XmlElement | undefined): { ref: string } | undefined {
  const t = el?.attr('ref') || el?.text;
  return t ? { ref: t } : undefined;
}

const lifetime = (el: XmlElement | undefined, ctx: PolicyContext) =>
  refOrText(el, ctx, (t, xpath) => int(t, xpath, ctx, { min: 1, max: MAX_LIFETIME_MS }));

function grantTypes(el: XmlElement | undefined, ctx: PolicyContext): GrantType[] | undefined {
  if (!el) return undefined;
  const out: GrantType[] = [];
  for (const g of el.all('GrantType')) {
    if ((GRANT_TYPES as readonly string[]).includes(g.text)) out.push(g.text as GrantType);
    else ctx.unsupported(g.xpath, `grant type "${g.text}" is not one of ${GRANT_TYPES.join(', ')}`);
  }
  return out.length > 0 ? out : undefined;
}

function tokens(el: XmlElement | undefined, ctx: PolicyContext) {
  if (!el) return undefined;
  const out = el.all('Token').flatMap((t) => {
    const type = t.attr('type')?.toLowerCase();
    if (type !== 'accesstoken' && type !== 'refreshtoken') {
      ctx.unsupported(`${t.xpath}/@type`, `token type "${type ?? ''}" is not accesstoken or refreshtoken`);
      return [];
    }
    if (!t.text) return [];
    const cascade = t.attr('cascade');
    return [
      compact({
        type,
        cascade: cascade === undefined ? undefined : cascade.toLowerCase() === 'true',
        value: { ref: t.text },
      }),
    ];
  });
  return out.length > 0 ? out : undefined;
}

/** The JWT operations' <Algorithm>, <PrivateKey>/<SecretKey>/<PublicKey>; SKIP when a key cannot be converted. */
function jwtElements(el: XmlElement, operation: OAuthOperation, ctx: PolicyContext) {
  if (!JWT_OPERATIONS.has(operation)) return {};
  const algEl = el.child('Algorithm');
  const alg = algEl?.text;
  if (alg !== undefined && !(JWT_ACCESS_TOKEN_ALGORITHMS as readonly string[]).includes(alg))
    ctx.unsupported(algEl!.xpath, `algorithm "${alg}" is not one of ${JWT_ACCESS_TOKEN_ALGORITHMS.join(', ')}`);
  const verifying = operation === 'VerifyJWTAccessToken';
  const keys = {
    privateKey: verifying ? undefined : privateKey(el, ctx),
    secretKey: secretKey(el, ctx),
    publicKey: verifying ? publicKey(el, ctx) : undefined,
  };
  if (Object.values(keys).includes(SKIP)) return SKIP;
  return { algorithm: alg, ...keys };
}

export const oauthV2Converter: PolicyConverter = {
  type: 'OAuthV2',
  convert(el, ctx) {
    const opEl = el.child('Operation');
    const operation = opEl?.text ?? '';
    if (!(OAUTH_OPERATIONS as readonly string[]).includes(operation)) {
      ctx.unsupported(opEl?.xpath ?? el.xpath, `operation "${operation}" is not one of ${OAUTH_OPERATIONS.join(', ')}`);
      return undefined;
    }
    const jwt = jwtElements(el, operation as OAuthOperation, ctx);
    if (jwt === SKIP) return undefined;
    const scopeEl = el.child('Scope');
    const scope =
      operation === 'VerifyAccessToken' || operation === 'VerifyJWTAccessToken'
        ? refOrText(scopeEl, ctx, (t) => t)
        : variable(scopeEl);
    const prefix = el.child('AccessTokenPrefix');
    const ref = (apigee: string) => variable(el.child(apigee));
    // Members in the schema's order (protos/policies/security/oauth-v2.ts): readable, stable YAML.
    return compact({
      operation,
      supportedGrantTypes: grantTypes(el.child('SupportedGrantTypes'), ctx),
      grantType: ref('GrantType'),
      expiresIn: lifetime(el.child('ExpiresIn'), ctx),
      refreshTokenExpiresIn: lifetime(el.child('RefreshTokenExpiresIn'), ctx),
      scope,
      attributes: attributes(el.child('Attributes'), ctx),
      generateResponse: enabled(el.child('GenerateResponse'), ctx),
      generateErrorResponse: enabled(el.child('GenerateErrorResponse'), ctx),
      rfcCompliantRequestResponse: bool(el.child('RFCCompliantRequestResponse'), ctx),
      reuseRefreshToken: bool(el.child('ReuseRefreshToken'), ctx),
      accessToken: ref('AccessToken'),
      accessTokenPrefix: prefix ? prefix.text : undefined,
      refreshToken: ref('RefreshToken'),
      code: ref('Code'),
      clientId: ref('ClientId'),
      redirectUri: ref('RedirectUri'),
      responseType: ref('ResponseType'),
      state: ref('State'),
      userName: ref('UserName'),
      password: ref('PassWord'),
      externalAccessToken: ref('ExternalAccessToken'),
      externalRefreshToken: ref('ExternalRefreshToken'),
      storeToken: bool(el.child('StoreToken'), ctx),
      externalAuthorization: bool(el.child('ExternalAuthorization'), ctx),
      tokens: tokens(el.child('Tokens'), ctx),
      appEndUser: ref('AppEndUser'),
      ...jwt,
    });
  },
};
