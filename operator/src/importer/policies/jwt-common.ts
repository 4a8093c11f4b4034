// What the six JWT and JWS converters share (docs/policies.md#verifyjwt): algorithms, <Source>, the key
// elements and claims. A secret or private key written literally in the XML is never copied into the
// manifests: it is reported (create a Secret) and the policy is not converted, since a secretRef to a
// Secret that does not exist yet would not compile.
import {
  jweContentAlgorithms,
  jweKeyAlgorithms,
  jwtAlgorithms,
  type ClaimType,
} from '../../../../protos/policies/security/jwt-common.ts';
import type { XmlElement } from '../xml.ts';
import { bool, compact, refOrText, type PolicyContext, type RefOr } from './support.ts';

/** Returned by a key reader when the policy must not be converted (already reported). */
export const SKIP = Symbol('skip');

const known = new Set<string>(jwtAlgorithms);

function algorithmList(texts: string[], xpath: string, ctx: PolicyContext): string[] {
  const out: string[] = [];
  for (const a of texts
    .flatMap((t) => t.split(','))
    .map((t) => t.trim())
    .filter((t) => t !== '')) {
    if (known.has(a)) out.push(a);
    else ctx.unsupported(xpath, `algorithm "${a}" is not one Gatehouse accepts (${jwtAlgorithms.join(', ')})`);
  }
  return out;
}

/** Verify: <Algorithm>a,b</Algorithm> or <Algorithms><Algorithm>..; undefined (reported) when none is usable. */
export function algorithms(el: XmlElement, ctx: PolicyContext): string[] | undefined {
  const one = el.child('Algorithm');
  const many = el.child('Algorithms');
  const list = [
    ...(one ? algorithmList([one.text], one.xpath, ctx) : []),
    ...(many
      ? algorithmList(
          many.all('Algorithm').map((a) => a.text),
          many.xpath,
          ctx,
        )
      : []),
  ];
  if (list.length === 0) ctx.unsupported(el.xpath, 'no algorithm Gatehouse accepts: the policy is not converted');
  return list.length > 0 ? [...new Set(list)] : undefined;
}

/** Sign: the one <Algorithm>. */
export function algorithm(el: XmlElement, ctx: PolicyContext): string | undefined {
  const list = algorithms(el, ctx);
  if (list && list.length > 1) ctx.unsupported(el.child('Algorithm')?.xpath ?? el.xpath, 'signing takes one algorithm');
  return list?.length === 1 ? list[0] : undefined;
}

/** A variable name given as element text (<Source>, <OutputVariable>). */
export const variableName = (el: XmlElement, name: string): string | undefined => el.childText(name);

/** <Issuer ref>text</Issuer> and the like. */
export const textOrRef = (el: XmlElement, name: string, ctx: PolicyContext): RefOr<string> | undefined =>
  refOrText(el.child(name), ctx, (t) => t);

function refOnly(
  el: XmlElement | undefined,
  what: string,
  ctx: PolicyContext,
): { ref: string } | typeof SKIP | undefined {
  if (!el) return undefined;
  const ref = el.attr('ref');
  if (ref) {
    if (el.text !== '')
      ctx.unsupported(
        el.xpath,
        `the literal fallback of the ${what} is not copied: Gatehouse reads only the ref ${ref}`,
      );
    return { ref };
  }
  if (el.text === '') return undefined;
  ctx.unsupported(
    el.xpath,
    `a literal ${what} is not copied into the manifests: create a Secret labelled gatehouse.dev/credential holding it and set {secretRef: {name, key}} (the policy is not converted)`,
  );
  return SKIP;
}

/** A key's <Id>: a literal only in Gatehouse. */
function keyId(key: XmlElement, ctx: PolicyContext): string | undefined {
  const id = key.child('Id');
  if (!id) return undefined;
  if (id.attr('ref')) ctx.unsupported(`${id.xpath}/@ref`, 'Gatehouse takes a literal key id only');
  return id.text || undefined;
}

const encodings = ['utf8', 'base16', 'hex', 'base64', 'base64url'];

export function secretKey(el: XmlElement, ctx: PolicyContext) {
  const key = el.child('SecretKey');
  if (!key) return undefined;
  const value = refOnly(key.child('Value'), 'secret key', ctx);
  if (value === SKIP) return SKIP;
  if (!value) {
    ctx.unsupported(key.xpath, 'a <SecretKey> without <Value ref>: the policy is not converted');
    return SKIP;
  }
  const enc = key.attr('encoding')?.toLowerCase();
  if (enc && !encodings.includes(enc))
    ctx.unsupported(`${key.xpath}/@encoding`, `encoding "${enc}" is not one of ${encodings.join(', ')}`);
  return compact({ value, encoding: enc && encodings.includes(enc) ? enc : undefined, id: keyId(key, ctx) });
}

export function privateKey(el: XmlElement, ctx: PolicyContext) {
  const key = el.child('PrivateKey');
  if (!key) return undefined;
  const value = refOnly(key.child('Value'), 'private key', ctx);
  const password = refOnly(key.child('Password'), 'private key password', ctx);
  if (value === SKIP || password === SKIP) return SKIP;
  if (!value) {
    ctx.unsupported(key.xpath, 'a <PrivateKey> without <Value ref>: the policy is not converted');
    return SKIP;
  }
  return compact({ value, password, id: keyId(key, ctx) });
}

/** <PublicKey>: a public key is not secret, so a literal PEM or JWKS is kept as written. */
export function publicKey(el: XmlElement, ctx: PolicyContext) {
  const key = el.child('PublicKey');
  if (!key) return undefined;
  const jwksEl = key.child('JWKS');
  const uri = jwksEl?.attr('uri');
  if (jwksEl?.attr('uriRef')) ctx.unsupported(`${jwksEl.xpath}/@uriRef`, 'Gatehouse takes a literal JWKS uri only');
  const out = compact({
    value: refOrText(key.child('Value'), ctx, (t) => t),
    certificate: refOrText(key.child('Certificate'), ctx, (t) => t),
    jwks: uri ? undefined : refOrText(jwksEl, ctx, (t) => t),
    jwksUri: uri,
  });
  if (Object.keys(out).length === 0) {
    ctx.unsupported(key.xpath, 'no key in <PublicKey>: the policy is not converted');
    return SKIP;
  }
  return out;
}

const claimTypes = ['string', 'number', 'boolean', 'map'];

/** <AdditionalClaims> / <AdditionalHeaders>: <Claim name ref type array>value</Claim>. */
export function claims(parent: XmlElement | undefined, ctx: PolicyContext) {
  if (!parent) return undefined;
  const out = parent.all('Claim').flatMap((c) => {
    const name = c.attr('name');
    if (!name) {
      ctx.unsupported(c.xpath, '<Claim> without a name');
      return [];
    }
    const ref = c.attr('ref');
    if (ref && c.text !== '')
      ctx.unsupported(c.xpath, `the literal fallback is dropped: Gatehouse reads only the ref ${ref}`);
    const type = c.attr('type')?.toLowerCase();
    if (type && !claimTypes.includes(type))
      ctx.unsupported(`${c.xpath}/@type`, `claim type "${type}" is not one of ${claimTypes.join(', ')}`);
    const array = c.attr('array')?.toLowerCase();
    if (!ref && c.text === '') {
      ctx.unsupported(c.xpath, 'a claim without a value or ref is left out');
      return [];
    }
    return [
      compact({
        name,
        value: ref ? undefined : c.text,
        ref,
        type: type && type !== 'string' && claimTypes.includes(type) ? (type as ClaimType) : undefined,
        array: array === 'true' ? true : undefined,
      }),
    ];
  });
  return out.length > 0 ? out : undefined;
}

/** <KnownHeaders>a,b</KnownHeaders>, <CriticalHeaders>. */
export function headerList(el: XmlElement, name: string): string[] | undefined {
  const t = el.childText(name);
  const list = t
    ?.split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  return list && list.length > 0 ? list : undefined;
}

export const flag = (el: XmlElement, name: string, ctx: PolicyContext) => bool(el.child(name), ctx);

/** <Type>Signed</Type>: Encrypted (JWE) has no counterpart; false when the policy must not convert. */
/** An encrypted JWT's config: <Type>Encrypted</Type>, or <Algorithms> with <Key> and <Content>. */
export function isEncrypted(el: XmlElement): boolean {
  return el.child('Type')?.text.toLowerCase() === 'encrypted' || el.child('Algorithms')?.child('Key') !== undefined;
}

/** <Algorithms><Key>..</Key><Content>..</Content></Algorithms> (comma lists): the values Gatehouse takes, or SKIP (reported). */
export function encryptionAlgorithms(
  el: XmlElement,
  ctx: PolicyContext,
): { key: string[]; content: string[] } | typeof SKIP {
  const algs = el.child('Algorithms');
  const list = (name: 'Key' | 'Content', known: readonly string[]) => {
    const child = algs?.child(name);
    const values = (child?.text ?? '')
      .split(',')
      .map((v) => v.trim())
      .filter((v) => v !== '');
    for (const v of values)
      if (!known.includes(v))
        ctx.unsupported(
          child!.xpath,
          `${name.toLowerCase()} algorithm "${v}" is not one Gatehouse accepts (${known.join(', ')})`,
        );
    return values.filter((v) => known.includes(v));
  };
  const key = list('Key', jweKeyAlgorithms);
  const content = list('Content', jweContentAlgorithms);
  if (key.length === 0 || content.length === 0) {
    ctx.unsupported(
      algs?.xpath ?? el.xpath,
      'an encrypted JWT needs a <Key> and a <Content> algorithm Gatehouse accepts: the policy is not converted',
    );
    return SKIP;
  }
  return { key, content };
}

export function signedOnly(el: XmlElement, ctx: PolicyContext): boolean {
  const t = el.child('Type');
  if (!t || t.text === '' || t.text.toLowerCase() === 'signed') return true;
  ctx.unsupported(t.xpath, `type ${t.text}: not Signed or Encrypted: the policy is not converted`);
  return false;
}
