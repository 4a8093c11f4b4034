// What OAuthV2 and the OAuthV2Info converters share: <Attributes><Attribute name ref display>, and token
// elements given as <X ref="var"/> (a literal token is reported, never copied into the manifests).
import type { XmlElement } from '../xml.ts';
import { bool, compact, refOrText, type PolicyContext, type RefOr } from './support.ts';

export function attributes(parent: XmlElement | undefined, ctx: PolicyContext) {
  if (!parent) return undefined;
  const out = parent.all('Attribute').flatMap((a) => {
    const name = a.attr('name');
    const value = refOrText(a, ctx, (t) => t);
    if (!name || value === undefined) {
      ctx.unsupported(a.xpath, 'an <Attribute> needs a name and a ref or value: left out');
      return [];
    }
    const display = a.attr('display');
    return [compact({ name, value, display: display === undefined ? undefined : display.toLowerCase() === 'true' })];
  });
  return out.length > 0 ? out : undefined;
}

/** Returned for a literal token (already reported): the policy is not converted. */
export const LITERAL = Symbol('literal');

/** <AccessToken ref="var"/>: a ref; a literal token is reported and LITERAL returned. */
export function tokenRef(el: XmlElement | undefined, ctx: PolicyContext): RefOr<string> | typeof LITERAL | undefined {
  if (!el) return undefined;
  const ref = el.attr('ref');
  if (ref) {
    if (el.text !== '')
      ctx.unsupported(el.xpath, `the literal fallback is not copied: Gatehouse reads only the ref ${ref}`);
    return { ref };
  }
  if (el.text === '') return undefined;
  ctx.unsupported(
    el.xpath,
    'a literal token would stand in the manifests in clear: use a ref (the policy is not converted)',
  );
  return LITERAL;
}

/** <GenerateResponse enabled="true"/>: the attribute, or the text. */
export function enabled(el: XmlElement | undefined, ctx: PolicyContext): boolean | undefined {
  if (!el) return undefined;
  const a = el.attr('enabled');
  if (a !== undefined) return a.toLowerCase() === 'true';
  return bool(el, ctx);
}

/**
 * The member of exactly one token element (`[ApigeeElement, member]` pairs), as Get- and
 * DeleteOAuthV2Info take it; undefined (reported) for a literal token, none or several.
 */
export function oneTokenRef(
  el: XmlElement,
  ctx: PolicyContext,
  members: ReadonlyArray<readonly [string, string]>,
): Record<string, unknown> | undefined {
  const out: Record<string, unknown> = {};
  for (const [apigee, member] of members) {
    const v = tokenRef(el.child(apigee), ctx);
    if (v === LITERAL) return undefined;
    if (v !== undefined) out[member] = v;
  }
  if (Object.keys(out).length !== 1) {
    ctx.unsupported(
      el.xpath,
      `exactly one of ${members.map(([a]) => `<${a} ref>`).join(', ')} is needed: the policy is not converted`,
    );
    return undefined;
  }
  return out;
}
