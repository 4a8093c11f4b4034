// What every policy converter shares: the converter interface, and readers for Apigee's recurring
// shapes (`<Allow count=.. countRef=..>`, `<Rate ref="..">30pm</Rate>`, true/false text). A value that
// does not fit is reported (file, XPath, reason) and left out, never guessed.
import type { XmlElement } from '../xml.ts';

export interface PolicyContext {
  /** The policy file, relative to the bundle. */
  file: string;
  /** Records an element or value that has no counterpart, with the reason. */
  unsupported(xpath: string, reason: string): void;
  /** The Gatehouse name of another policy of the bundle by its Apigee name (ResetQuota names a Quota). */
  policyName(apigeeName: string): string | undefined;
  /**
   * The text of the bundle resource an Apigee ResourceURL (`xsl://name`, `xsd://name`, `wsdl://name`, `jsc://name`)
   * names, from resources/<scheme>/<name>; undefined (reported at `xpath`) when it is not in the bundle,
   * is too large or is not UTF-8. A resource read here is not reported as unconverted.
   */
  resource(url: string, xpath: string): string | undefined;
}

/**
 * Converts one Apigee policy XML of a type Gatehouse implements into its configuration member. It reads
 * what it understands through the XmlElement (which records the reading); whatever it leaves unread is
 * reported by the caller as having no counterpart. Returns undefined when the policy cannot be
 * converted at all (after reporting why).
 */
export interface PolicyConverter {
  /** The Apigee root element. */
  type: string;
  /** Gatehouse's type name when it differs from the Apigee root element (<XSL> is XSLTransform). */
  gatehouseType?: string;
  /** Whether it converts the policy's <Properties> itself (else they are reported as having no counterpart). */
  readsProperties?: boolean;
  /** The ResourceURL schemes whose bundle resources this converter reads (ctx.resource). */
  resourceSchemes?: readonly string[];
  convert(el: XmlElement, ctx: PolicyContext): Record<string, unknown> | undefined;
}

export type RefOr<T> = T | { ref: string };

/** Apigee's boolean text: true/false in any case. */
export function bool(el: XmlElement | undefined, ctx: PolicyContext): boolean | undefined {
  if (!el) return undefined;
  const t = el.text.toLowerCase();
  if (t === 'true') return true;
  if (t === 'false') return false;
  if (t !== '') ctx.unsupported(el.xpath, `"${el.text}" is not true or false`);
  return undefined;
}

export function int(
  text: string | undefined,
  xpath: string,
  ctx: PolicyContext,
  range: { min?: number; max?: number } = {},
): number | undefined {
  if (text === undefined || text === '') return undefined;
  if (!/^-?\d+$/.test(text)) {
    ctx.unsupported(xpath, `"${text}" is not an integer`);
    return undefined;
  }
  const n = Number(text);
  if ((range.min !== undefined && n < range.min) || (range.max !== undefined && n > range.max)) {
    ctx.unsupported(xpath, `${n} is outside ${range.min ?? '-∞'}..${range.max ?? '∞'}, the range Gatehouse accepts`);
    return undefined;
  }
  return n;
}

/**
 * A value given as `ref` (attribute `refAttr`) and/or literal text: Apigee reads the ref and falls
 * back to the text when the variable is unset. Gatehouse takes one of the two, so with both the ref
 * wins and the dropped fallback is reported.
 */
export function refOrText<T>(
  el: XmlElement | undefined,
  ctx: PolicyContext,
  literal: (text: string, xpath: string) => T | undefined,
  options: { refAttr?: string; text?: string; textXpath?: string } = {},
): RefOr<T> | undefined {
  if (!el) return undefined;
  const ref = el.attr(options.refAttr ?? 'ref');
  const text = options.text ?? el.text;
  const textXpath = options.textXpath ?? el.xpath;
  if (ref) {
    if (text !== '')
      ctx.unsupported(
        textXpath,
        `the literal fallback "${text}" is dropped: Gatehouse reads only the ref ${ref} (unset: the policy's default)`,
      );
    return { ref };
  }
  return text === '' ? undefined : literal(text, textXpath);
}

/** Puts only the defined members into an object, in the order given (readable, stable YAML). */
export function compact<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}

/** `<Source>request</Source>` → request | response; a message variable of another name is reported. */
export function messageSource(el: XmlElement | undefined, ctx: PolicyContext): 'request' | 'response' | undefined {
  if (!el) return undefined;
  const t = el.text;
  if (t === 'request' || t === 'response') return t;
  if (t === '' || t === 'message') return undefined;
  ctx.unsupported(el.xpath, `source message "${t}": Gatehouse reads only request or response`);
  return undefined;
}

/** A `{name: value}` map of `<X name="n">value</X>` children; a repeated name keeps the last and is reported. */
export function namedValues(
  parent: XmlElement | undefined,
  childName: string,
  ctx: PolicyContext,
): Record<string, string> | undefined {
  if (!parent) return undefined;
  const out: Record<string, string> = {};
  for (const c of parent.all(childName)) {
    const name = c.attr('name');
    if (!name) {
      ctx.unsupported(c.xpath, `<${childName}> without a name`);
      continue;
    }
    if (name in out) ctx.unsupported(c.xpath, `a second ${name}: Gatehouse keeps one value per name per operation`);
    out[name] = c.rawText.trim();
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The names of `<X name="n"/>` children. */
export function names(parent: XmlElement | undefined, childName: string, ctx: PolicyContext): string[] | undefined {
  if (!parent) return undefined;
  const out: string[] = [];
  for (const c of parent.all(childName)) {
    const name = c.attr('name');
    if (name) out.push(name);
    else ctx.unsupported(c.xpath, `<${childName}> without a name`);
  }
  return out.length > 0 ? out : undefined;
}
