// AccessControl (docs/policies.md): IPv4/IPv6 CIDR rules in order, first match wins. Each rule's blocks are
// loaded into a node:net BlockList once, at create().
import { BlockList, isIP } from 'node:net';
import {
  accessControl,
  parseCidr,
  type AccessAction,
  type AccessControlConfig,
} from '../../../../protos/policies/security/access-control.ts';
import { PolicyFault } from '../../flow/faults.ts';
import type { PolicyContext, PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

interface CompiledRule {
  action: AccessAction;
  addresses: BlockList;
}

interface Address {
  address: string;
  family: 'ipv4' | 'ipv6';
}

function compileRule(rule: { action: AccessAction; sourceAddresses: string[] }): CompiledRule {
  const addresses = new BlockList();
  for (const source of rule.sourceAddresses) {
    const cidr = parseCidr(source);
    if (cidr) addresses.addSubnet(cidr.address, cidr.prefix, cidr.family);
  }
  return { action: rule.action, addresses };
}

/** Parses one address; IPv4-mapped IPv6 ("::ffff:1.2.3.4", how dual-stack sockets report IPv4) as IPv4. */
function parseAddress(text: string): Address | undefined {
  const trimmed = text.trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(trimmed);
  const address = mapped ? mapped[1]! : trimmed;
  const version = isIP(address);
  return version === 0 ? undefined : { address, family: version === 4 ? 'ipv4' : 'ipv6' };
}

/** The addresses to check, or undefined when they cannot be known (no or malformed header). */
function addressesToCheck(ctx: PolicyContext, mode: AccessControlConfig['validateBasedOn']): Address[] | undefined {
  if (mode === undefined || mode === 'ClientIP') {
    const client = parseAddress(ctx.variables.getString('client.ip') ?? '');
    return client ? [client] : undefined;
  }
  const header = ctx.request.headers.getAll('x-forwarded-for').join(',');
  if (header.trim() === '') return undefined;
  const parsed = header.split(',').map(parseAddress);
  if (parsed.some((a) => a === undefined)) return undefined;
  const all = parsed as Address[];
  // split() yields at least one element, so `all` is never empty.
  if (mode === 'XForwardedForFirstIP') return [all[0]!];
  if (mode === 'XForwardedForLastIP') return [all[all.length - 1]!];
  return all;
}

function denied(): PolicyFault {
  return new PolicyFault({
    status: 403,
    errorCode: 'accesscontrol.IPDeniedAccess',
    faultString: 'Access Denied for client ip',
  });
}

export const accessControlPolicy: PolicyImplementation<AccessControlConfig> = {
  type: 'AccessControl',
  create(config, meta) {
    checkConfig(accessControl, config, meta);
    const rules = (config.rules ?? []).map(compileRule);
    const fallback = config.noRuleMatchAction ?? 'Allow';
    const decide = (a: Address): AccessAction =>
      rules.find((rule) => rule.addresses.check(a.address, a.family))?.action ?? fallback;

    return (ctx) => {
      const addresses = addressesToCheck(ctx, config.validateBasedOn);
      // Fail closed: an address we cannot read is never allowed.
      if (!addresses || addresses.some((a) => decide(a) === 'Deny')) throw denied();
      return undefined;
    };
  },
};
