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
import type { PolicyImplementation } from '../../flow/types.ts';
import { checkConfig } from '../support.ts';

interface CompiledRule {
  action: AccessAction;
  addresses: BlockList;
}

/** A step's verdict on one address text: its rule's action, or unreadable (denied). */
type Decision = AccessAction | 'Unreadable';

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

/** How many address texts a step remembers its decision for: cleared when full, so a client that
 * sends a new address each time costs one cleared map per this many requests and holds no more. */
export const DECISION_CACHE_SIZE = 4096;

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
    const decideAddress = (a: Address): AccessAction =>
      rules.find((rule) => rule.addresses.check(a.address, a.family))?.action ?? fallback;
    // The decision is a function of the address text and this step's rules only: remembered per text
    // (docs/architecture.md#the-policies-per-request-work-issue-20), so a returning client costs one
    // map lookup instead of a parse and a BlockList check per rule.
    const decisions = new Map<string, Decision>();
    const decide = (text: string): Decision => {
      let decision = decisions.get(text);
      if (decision === undefined) {
        const address = parseAddress(text);
        decision = address ? decideAddress(address) : 'Unreadable';
        if (decisions.size >= DECISION_CACHE_SIZE) decisions.clear();
        decisions.set(text, decision);
      }
      return decision;
    };
    const mode = config.validateBasedOn;

    if (mode === undefined || mode === 'ClientIP') {
      return (ctx) => {
        // Fail closed: an address we cannot read is never allowed.
        if (decide(ctx.variables.getString('client.ip') ?? '') !== 'Allow') throw denied();
        return undefined;
      };
    }
    return (ctx) => {
      const header = ctx.request.headers.getAll('x-forwarded-for').join(',');
      // Fail closed: no header, or any address we cannot read (anywhere in the list), is never allowed.
      if (header.trim() === '') throw denied();
      const decided = header.split(',').map(decide);
      if (decided.includes('Unreadable')) throw denied();
      const denies =
        mode === 'XForwardedForFirstIP'
          ? decided[0] === 'Deny'
          : mode === 'XForwardedForLastIP'
            ? decided[decided.length - 1] === 'Deny'
            : decided.includes('Deny');
      if (denies) throw denied();
      return undefined;
    };
  },
};
