// <VerifyJWT> -> VerifyJWT (docs/policies.md#verifyjwt): algorithms, <Source>, <PublicKey> or
// <SecretKey> (refs; a literal secret is reported, jwt-common.ts), the required claims, headers and flags.
import {
  algorithms,
  claims,
  encryptionAlgorithms,
  flag,
  isEncrypted,
  privateKey,
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
    const encrypted = isEncrypted(el);
    const algs = encrypted ? undefined : algorithms(el, ctx);
    const enc = encrypted ? encryptionAlgorithms(el, ctx) : undefined;
    const pub = encrypted ? undefined : publicKey(el, ctx);
    const priv = encrypted ? privateKey(el, ctx) : undefined;
    const secret = secretKey(el, ctx);
    if (encrypted ? enc === SKIP : !algs || !signedOnly(el, ctx)) return undefined;
    if (pub === SKIP || priv === SKIP || secret === SKIP) return undefined;
    return compact({
      algorithms: algs,
      source: variableName(el, 'Source'),
      publicKey: pub,
      secretKey: secret,
      type: encrypted ? 'Encrypted' : undefined,
      encryptionAlgorithms: enc,
      privateKey: priv,
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
