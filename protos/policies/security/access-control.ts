// AccessControl: allow or deny by client address with IPv4/IPv6 CIDR rules, first match wins
// (docs/policies.md).
import { isIP } from 'node:net';
import type { PolicyTypeSpec } from '../index.ts';
import type { ConfigProblem } from '../schema.ts';

export type AccessAction = 'Allow' | 'Deny';
export type ValidateBasedOn = 'ClientIP' | 'XForwardedForAllIPs' | 'XForwardedForFirstIP' | 'XForwardedForLastIP';

export interface AccessControlRule {
  action: AccessAction;
  /** Addresses ("203.0.113.7", "2001:db8::1") or CIDR blocks ("203.0.113.0/24", "2001:db8::/32"). */
  sourceAddresses: string[];
}

export interface AccessControlConfig {
  /** What happens when no rule matches; default Allow. */
  noRuleMatchAction?: AccessAction;
  /**
   * Which address is checked; default ClientIP (client.ip, the peer address Envoy reports). The
   * XForwardedFor modes read the X-Forwarded-For header: every address (denied when any is denied),
   * the first (the original client) or the last (the nearest proxy). A missing or malformed header
   * is denied.
   */
  validateBasedOn?: ValidateBasedOn;
  rules?: AccessControlRule[];
}

const action = { type: 'string', enum: ['Allow', 'Deny'] } as const;

export const accessControl: PolicyTypeSpec = {
  type: 'AccessControl',
  member: 'accessControl',
  group: 'security',
  schema: {
    type: 'object',
    description:
      'AccessControl: allows or denies by client address with IPv4 and IPv6 CIDR rules, the first matching rule deciding; denied requests get 403 accesscontrol.IPDeniedAccess. Apigee: <AccessControl><IPRules>.',
    properties: {
      noRuleMatchAction: {
        ...action,
        default: 'Allow',
        description:
          'What happens when no rule matches: Allow (default) or Deny. Apigee: the noRuleMatchAction attribute.',
      },
      validateBasedOn: {
        type: 'string',
        enum: ['ClientIP', 'XForwardedForAllIPs', 'XForwardedForFirstIP', 'XForwardedForLastIP'],
        default: 'ClientIP',
        description:
          'Which address is checked: ClientIP (default) the peer address Envoy reports (client.ip); XForwardedForAllIPs every X-Forwarded-For address (denied when any is); XForwardedForFirstIP the first; XForwardedForLastIP the last. An address that cannot be read is denied. Apigee: <ValidateBasedOn> (X_FORWARDED_FOR_ALL_IP, ...).',
      },
      rules: {
        type: 'array',
        maxItems: 256,
        description:
          'Rules tried in order (at most 256); the first that matches decides. Apigee: <MatchRule> elements.',
        items: {
          type: 'object',
          description: 'Allow or deny a set of addresses. Apigee: <MatchRule action>.',
          required: ['action', 'sourceAddresses'],
          properties: {
            action: { ...action, description: 'Allow or Deny. Apigee: the action attribute.' },
            sourceAddresses: {
              type: 'array',
              minItems: 1,
              maxItems: 1024,
              description: 'The addresses the rule matches (1 to 1024). Apigee: <SourceAddress mask>.',
              items: {
                type: 'string',
                maxLength: 64,
                pattern: '^[0-9A-Fa-f:.]+(/[0-9]{1,3})?$',
                description:
                  'An IPv4 or IPv6 address or CIDR block: 203.0.113.7, 203.0.113.0/24, 2001:db8::/32; IPv4-mapped IPv6 clients are checked as IPv4.',
              },
            },
          },
        },
      },
    },
  },
  needsBody: () => false,
  validate: (config) => validateAccessControl(config as AccessControlConfig),
};

export interface ParsedCidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/** Parses "a.b.c.d", "a.b.c.d/n", "x::y" or "x::y/n"; undefined when it is neither. */
export function parseCidr(text: string): ParsedCidr | undefined {
  const [address, prefixText, extra] = text.split('/') as [string, string?, string?]; // split() yields at least one element
  const version = isIP(address);
  if (version === 0 || extra !== undefined) return undefined;
  const max = version === 4 ? 32 : 128;
  if (prefixText !== undefined && !/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  if (prefix > max) return undefined;
  return { address, prefix, family: version === 4 ? 'ipv4' : 'ipv6' };
}

function validateAccessControl(config: AccessControlConfig): ConfigProblem[] {
  return (config.rules ?? []).flatMap((rule, i) =>
    rule.sourceAddresses.flatMap((source, j) =>
      parseCidr(source)
        ? []
        : [{ path: `rules[${i}].sourceAddresses[${j}]`, message: `not an IP address or CIDR block: "${source}"` }],
    ),
  );
}
