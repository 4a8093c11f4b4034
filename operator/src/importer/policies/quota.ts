// <Quota> -> Quota (docs/policies.md#quota).
import type { XmlElement } from '../xml.ts';
import { bool, compact, int, refOrText, type PolicyContext, type PolicyConverter } from './support.ts';

const TIME_UNITS = ['second', 'minute', 'hour', 'day', 'week', 'month'];
/** VerifyAPIKey's product quota variables: reading them is what useProductQuota does. */
const PRODUCT_QUOTA = /^verifyapikey\.[^.]+\.apiproduct\.developer\.quota\.(limit|interval|timeunit)$/;

function timeUnit(text: string, xpath: string, ctx: PolicyContext): string | undefined {
  if (TIME_UNITS.includes(text)) return text;
  ctx.unsupported(xpath, `time unit "${text}": Gatehouse has ${TIME_UNITS.join(', ')}`);
  return undefined;
}

/** Apigee's StartTime is `yyyy-MM-dd HH:mm:ss` (UTC); Gatehouse takes ISO 8601. */
function startTime(el: XmlElement | undefined, ctx: PolicyContext): string | undefined {
  if (!el || el.text === '') return undefined;
  const m = /^(\d{4})-(\d{1,2})-(\d{1,2})[ T](\d{1,2}):(\d{1,2}):(\d{1,2})$/.exec(el.text);
  if (!m) {
    ctx.unsupported(el.xpath, `"${el.text}" is not yyyy-MM-dd HH:mm:ss`);
    return undefined;
  }
  const p = (s: string) => s.padStart(2, '0');
  return `${m[1]}-${p(m[2]!)}-${p(m[3]!)}T${p(m[4]!)}:${p(m[5]!)}:${p(m[6]!)}Z`;
}

export const quotaConverter: PolicyConverter = {
  type: 'Quota',
  convert(el, ctx) {
    const typeAttr = el.attr('type');
    let type: string | undefined;
    if (typeAttr === 'calendar' || typeAttr === 'rollingwindow' || typeAttr === 'flexi') type = typeAttr;
    else if (typeAttr) ctx.unsupported(`${el.xpath}/@type`, `quota type "${typeAttr}" has no counterpart`);

    const allowEl = el.child('Allow');
    const intervalEl = el.child('Interval');
    const unitEl = el.child('TimeUnit');
    const refs = [allowEl?.attrs['countRef'], intervalEl?.attrs['ref'], unitEl?.attrs['ref']];
    // Refs to VerifyAPIKey's product quota with literal fallbacks are exactly useProductQuota.
    const productQuota =
      refs.some((r) => r !== undefined) && refs.every((r) => r === undefined || PRODUCT_QUOTA.test(r));
    let useProductQuota: boolean | undefined;
    let allow, interval, unit;
    if (productQuota) {
      useProductQuota = true;
      allowEl?.ignore('countRef');
      intervalEl?.ignore('ref');
      unitEl?.ignore('ref');
      allow = int(allowEl?.attr('count') ?? allowEl?.text, allowEl?.xpath ?? '', ctx, { min: 0, max: 1e9 });
      interval = int(intervalEl?.text, intervalEl?.xpath ?? '', ctx, { min: 1, max: 1e6 });
      unit = unitEl?.text ? timeUnit(unitEl.text, unitEl.xpath, ctx) : undefined;
    } else {
      allow = allowEl
        ? refOrText(allowEl, ctx, (t, x) => int(t, x, ctx, { min: 0, max: 1e9 }), {
            refAttr: 'countRef',
            text: allowEl.attr('count') ?? allowEl.text,
            textXpath: allowEl.attrs['count'] !== undefined ? `${allowEl.xpath}/@count` : allowEl.xpath,
          })
        : undefined;
      interval = refOrText(intervalEl, ctx, (t, x) => int(t, x, ctx, { min: 1, max: 1e6 }));
      unit = refOrText(unitEl, ctx, (t, x) => timeUnit(t, x, ctx));
    }
    if (allowEl)
      for (const c of allowEl.all('Class'))
        ctx.unsupported(c.consume().xpath, 'per-class allow counts have no counterpart');

    const upq = el.child('UseQuotaConfigInAPIProduct');
    if (upq) {
      useProductQuota = true;
      upq.ignore('stepName');
      const def = upq.child('DefaultConfig');
      if (def) {
        allow ??= int(def.childText('Allow'), `${def.xpath}/Allow`, ctx, { min: 0, max: 1e9 });
        interval ??= int(def.childText('Interval'), `${def.xpath}/Interval`, ctx, { min: 1, max: 1e6 });
        const u = def.childText('TimeUnit');
        unit ??= u ? timeUnit(u, `${def.xpath}/TimeUnit`, ctx) : undefined;
      }
    }
    const asyncEl = el.child('AsynchronousConfiguration');
    const asynchronousConfiguration = asyncEl
      ? compact({
          syncIntervalInSeconds: int(
            asyncEl.childText('SyncIntervalInSeconds'),
            `${asyncEl.xpath}/SyncIntervalInSeconds`,
            ctx,
            {
              min: 1,
              max: 3600,
            },
          ),
          syncMessageCount: int(asyncEl.childText('SyncMessageCount'), `${asyncEl.xpath}/SyncMessageCount`, ctx, {
            min: 1,
            max: 1e6,
          }),
        })
      : undefined;
    const start = startTime(el.child('StartTime'), ctx);
    if (start !== undefined && type !== undefined && type !== 'calendar')
      ctx.unsupported(`${el.xpath}/StartTime`, 'StartTime applies to calendar quotas only');
    if (allow === undefined && !useProductQuota) {
      ctx.unsupported(el.xpath, 'no Allow count Gatehouse can use');
      return undefined;
    }
    return compact({
      type,
      allow,
      interval,
      timeUnit: unit,
      startTime: start !== undefined && (type ?? 'calendar') === 'calendar' ? start : undefined,
      identifier: refOrText(el.child('Identifier'), ctx, (t) => t),
      messageWeight: refOrText(el.child('MessageWeight'), ctx, (t, x) => int(t, x, ctx, { min: 1, max: 1e6 })),
      distributed: bool(el.child('Distributed'), ctx),
      synchronous: bool(el.child('Synchronous'), ctx),
      asynchronousConfiguration:
        asynchronousConfiguration && Object.keys(asynchronousConfiguration).length > 0
          ? asynchronousConfiguration
          : undefined,
      useProductQuota,
    });
  },
};
