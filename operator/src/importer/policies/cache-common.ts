// What the four cache policies share: <CacheKey>, <Scope>, <CacheResource>, <ExpirySettings>.
import type { XmlElement } from '../xml.ts';
import { compact, int, refOrText, type PolicyContext } from './support.ts';

const SCOPES = ['Exclusive', 'Application', 'Proxy', 'Target', 'Global'];

export function cacheTarget(el: XmlElement, ctx: PolicyContext): Record<string, unknown> | undefined {
  const key = el.child('CacheKey');
  if (!key) {
    ctx.unsupported(el.xpath, 'no <CacheKey>');
    return undefined;
  }
  const prefix = key.childText('Prefix');
  const keyFragments = key.all('KeyFragment').flatMap((f) => {
    f.ignore('type');
    const v = refOrText(f, ctx, (t) => t);
    return v === undefined ? [] : [v];
  });
  const scopeEl = el.child('Scope');
  let scope: string | undefined;
  if (scopeEl && scopeEl.text !== '') {
    if (SCOPES.includes(scopeEl.text)) scope = scopeEl.text;
    else ctx.unsupported(scopeEl.xpath, `scope "${scopeEl.text}" is not one of ${SCOPES.join(', ')}`);
  }
  const resource = el.child('CacheResource');
  let cacheResource: string | undefined;
  if (resource && resource.text !== '') {
    if (/^[A-Za-z0-9._-]{1,128}$/.test(resource.text)) cacheResource = resource.text;
    else ctx.unsupported(resource.xpath, `cache resource "${resource.text}" is not letters, digits, ., _ and -`);
  }
  const timeout = el.child('CacheLookupTimeoutInSeconds');
  if (timeout) ctx.unsupported(timeout.xpath, 'no lookup timeout in Gatehouse: a slow store is a miss');
  return compact({
    cacheKey: compact({ prefix, keyFragments: keyFragments.length > 0 ? keyFragments : undefined }),
    scope,
    cacheResource,
  });
}

export function expiry(el: XmlElement | undefined, ctx: PolicyContext): Record<string, unknown> | undefined {
  if (!el) return undefined;
  const literalOnly = (name: string, pattern: RegExp, form: string) => {
    const c = el.child(name);
    if (!c) return undefined;
    if (c.attr('ref')) ctx.unsupported(`${c.xpath}/@ref`, `${name} from a variable has no counterpart`);
    if (c.text === '') return undefined;
    if (pattern.test(c.text)) return c.text;
    ctx.unsupported(c.xpath, `"${c.text}" is not ${form}`);
    return undefined;
  };
  const out = compact({
    timeoutSeconds: refOrText(el.child('TimeoutInSeconds') ?? el.child('TimeoutInSec'), ctx, (t, x) =>
      int(t, x, ctx, { min: 1, max: 31_536_000 }),
    ),
    timeOfDay: literalOnly('TimeOfDay', /^\d{2}:\d{2}:\d{2}$/, 'HH:mm:ss'),
    expiryDate: literalOnly('ExpiryDate', /^\d{2}-\d{2}-\d{4}$/, 'MM-dd-yyyy'),
  });
  if (Object.keys(out).length > 1) {
    ctx.unsupported(
      el.xpath,
      'several expiry settings: Gatehouse takes one; kept the first of timeout, time of day, date',
    );
    const [k, v] = Object.entries(out)[0]!;
    return { [k]: v };
  }
  return Object.keys(out).length > 0 ? out : undefined;
}
