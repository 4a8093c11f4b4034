// <SpikeArrest> -> SpikeArrest (docs/policies.md#spikearrest).
import { bool, compact, int, refOrText, type PolicyConverter } from './support.ts';

export const spikeArrestConverter: PolicyConverter = {
  type: 'SpikeArrest',
  convert(el, ctx) {
    const rate = refOrText(el.child('Rate'), ctx, (t, x) => {
      if (/^[1-9][0-9]{0,8}(ps|pm)$/.test(t)) return t;
      ctx.unsupported(x, `rate "${t}" is not a whole number followed by ps or pm`);
      return undefined;
    });
    if (rate === undefined) {
      ctx.unsupported(el.xpath, 'no Rate Gatehouse can use');
      return undefined;
    }
    return compact({
      rate,
      identifier: refOrText(el.child('Identifier'), ctx, (t) => t),
      messageWeight: refOrText(el.child('MessageWeight'), ctx, (t, x) => int(t, x, ctx, { min: 1, max: 1e6 })),
      useEffectiveCount: bool(el.child('UseEffectiveCount'), ctx),
    });
  },
};
