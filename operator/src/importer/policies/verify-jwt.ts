// <VerifyJWT> -> VerifyJWT (docs/policies.md#verifyjwt): algorithms, <Source>, <PublicKey> or
// <SecretKey> (refs; a literal secret is reported, jwt-common.ts), the required claims, headers and flags.
import {
  algorithms,
  claims,
  flag,
  headerList,
  publicKey,
  secretKey,
  signedOnly,
  SKIP,
  textOrRef,
  variableName,
} from './jwt-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const verifyJwtConverter: PolicyConverter = {
  type: 'VerifyJWT',
  convert(el, ctx) {
    const algs = algorithms(el, ctx);
    const pub = publicKey(el, ctx);
    const secret = secretKey(el, ctx);
    if (!algs || pub === SKIP || secret === SKIP || !signedOnly(el, ctx)) return undefined;
    return compact({
      algorithms: algs,
      source: variableName(el, 'Source'),
      publicKey: pub,
      secretKey: secret,
      issuer: textOrRef(el, 'Issuer', ctx),
      audience: textOrRef(el, 'Audience', ctx),
      subject: textOrRef(el, 'Subject', ctx),
      id: textOrRef(el, 'Id', ctx),
      timeAllowance: textOrRef(el, 'TimeAllowance', ctx),
      additionalClaims: claims(el.child('AdditionalClaims'), ctx),
      additionalHeaders: claims(el.child('AdditionalHeaders'), ctx),
      knownHeaders: headerList(el, 'KnownHeaders'),
      ignoreCriticalHeaders: flag(el, 'IgnoreCriticalHeaders', ctx),
      ignoreIssuedAt: flag(el, 'IgnoreIssuedAt', ctx),
      ignoreUnresolvedVariables: flag(el, 'IgnoreUnresolvedVariables', ctx),
    });
  },
};
