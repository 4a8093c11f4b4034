// <AccessControl> -> AccessControl (docs/policies.md#accesscontrol).
import { compact, type PolicyConverter } from './support.ts';

const basedOn: Record<string, string> = {
  X_FORWARDED_FOR_ALL_IP: 'XForwardedForAllIPs',
  X_FORWARDED_FOR_FIRST_IP: 'XForwardedForFirstIP',
  X_FORWARDED_FOR_LAST_IP: 'XForwardedForLastIP',
};

const action = (s: string | undefined) =>
  s?.toLowerCase() === 'allow' ? 'Allow' : s?.toLowerCase() === 'deny' ? 'Deny' : undefined;

export const accessControlConverter: PolicyConverter = {
  type: 'AccessControl',
  convert(el, ctx) {
    const ip = el.child('IPRules');
    const noRule = ip?.attr('noRuleMatchAction');
    const rules = (ip?.all('MatchRule') ?? []).flatMap((rule) => {
      const a = action(rule.attr('action'));
      if (!a) {
        ctx.unsupported(rule.xpath, `action "${rule.attrs['action'] ?? ''}" is not ALLOW or DENY`);
        return [];
      }
      const sourceAddresses = rule.all('SourceAddress').flatMap((s) => {
        const mask = s.attr('mask') ?? '32';
        const address = s.text;
        if (address.includes('{') || mask.includes('{')) {
          ctx.unsupported(s.xpath, 'an address from a flow variable: Gatehouse needs the addresses written out');
          return [];
        }
        const full = address.includes(':') ? (mask === '32' ? '128' : mask) : mask;
        return [`${address}/${full}`];
      });
      return sourceAddresses.length > 0 ? [{ action: a, sourceAddresses }] : [];
    });
    const vbo = el.child('ValidateBasedOn');
    const validateBasedOn = vbo ? basedOn[vbo.text] : undefined;
    if (vbo && !validateBasedOn) ctx.unsupported(vbo.xpath, `"${vbo.text}" has no counterpart`);
    const trueClient = el.child('IgnoreTrueClientIPHeader');
    if (trueClient && trueClient.text.toLowerCase() !== 'true')
      ctx.unsupported(trueClient.xpath, 'Gatehouse never reads True-Client-IP');
    return compact({
      noRuleMatchAction: action(noRule),
      validateBasedOn,
      rules: rules.length > 0 ? rules : undefined,
    });
  },
};
