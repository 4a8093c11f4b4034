// <VerifyJWS> -> VerifyJWS (docs/policies.md#verifyjws): algorithms, <Source>, <DetachedContent>,
// <PublicKey> or <SecretKey> (refs; a literal secret is reported, jwt-common.ts), headers and flags.
import { algorithms, claims, flag, headerList, publicKey, secretKey, SKIP, variableName } from './jwt-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const verifyJwsConverter: PolicyConverter = {
  type: 'VerifyJWS',
  convert(el, ctx) {
    const algs = algorithms(el, ctx);
    const pub = publicKey(el, ctx);
    const secret = secretKey(el, ctx);
    if (!algs || pub === SKIP || secret === SKIP) return undefined;
    return compact({
      algorithms: algs,
      source: variableName(el, 'Source'),
      detachedContent: variableName(el, 'DetachedContent'),
      publicKey: pub,
      secretKey: secret,
      additionalHeaders: claims(el.child('AdditionalHeaders'), ctx),
      knownHeaders: headerList(el, 'KnownHeaders'),
      ignoreCriticalHeaders: flag(el, 'IgnoreCriticalHeaders', ctx),
      ignoreUnresolvedVariables: flag(el, 'IgnoreUnresolvedVariables', ctx),
    });
  },
};
