// <GenerateJWT> -> GenerateJWT (docs/policies.md#generatejwt): <Algorithm>, <PrivateKey> or <SecretKey>
// (refs only; a literal key is reported, jwt-common.ts), the claims, headers, lifetimes and output.
import type { XmlElement } from '../xml.ts';
import {
  algorithm,
  claims,
  encryptionAlgorithms,
  flag,
  headerList,
  isEncrypted,
  privateKey,
  publicKey,
  secretKey,
  SKIP,
  textOrRef,
  variableName,
} from './jwt-common.ts';
import { compact, refOrText, type PolicyContext, type PolicyConverter } from './support.ts';

/** <Id/> empty: a generated UUID; <Id ref>text</Id>: that jti. */
function jti(el: XmlElement, ctx: PolicyContext) {
  const id = el.child('Id');
  if (!id) return undefined;
  const value = refOrText(id, ctx, (t) => t);
  return value === undefined ? { generate: true } : { value };
}

export const generateJwtConverter: PolicyConverter = {
  type: 'GenerateJWT',
  convert(el, ctx) {
    const encrypted = isEncrypted(el);
    const alg = encrypted ? undefined : algorithm(el, ctx);
    const enc = encrypted ? encryptionAlgorithms(el, ctx) : undefined;
    const priv = encrypted ? undefined : privateKey(el, ctx);
    const pub = encrypted ? publicKey(el, ctx) : undefined;
    const secret = secretKey(el, ctx);
    const outputVariable = variableName(el, 'OutputVariable');
    if (!outputVariable) ctx.unsupported(el.xpath, 'no <OutputVariable>: the policy is not converted');
    if (encrypted ? enc === SKIP : !alg) return undefined;
    if (!outputVariable || priv === SKIP || pub === SKIP || secret === SKIP) return undefined;
    const oneEnc = enc === undefined || enc === SKIP ? undefined : { key: enc.key[0], content: enc.content[0] };
    return compact({
      algorithm: alg,
      type: encrypted ? 'Encrypted' : undefined,
      encryptionAlgorithms: oneEnc,
      publicKey: pub,
      privateKey: priv,
      secretKey: secret,
      issuer: textOrRef(el, 'Issuer', ctx),
      audience: textOrRef(el, 'Audience', ctx),
      subject: textOrRef(el, 'Subject', ctx),
      id: jti(el, ctx),
      expiresIn: textOrRef(el, 'ExpiresIn', ctx),
      notBefore: textOrRef(el, 'NotBefore', ctx),
      additionalClaims: claims(el.child('AdditionalClaims'), ctx),
      additionalHeaders: claims(el.child('AdditionalHeaders'), ctx),
      criticalHeaders: headerList(el, 'CriticalHeaders'),
      outputVariable,
      ignoreUnresolvedVariables: flag(el, 'IgnoreUnresolvedVariables', ctx),
    });
  },
};
