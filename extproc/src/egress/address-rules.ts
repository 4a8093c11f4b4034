// The DataPlane's address rules for outbound connections policies make (docs/architecture.md#egress):
// link-local and cloud metadata addresses are refused unless spec.upstream.allowLinkLocalTargets;
// private, loopback, shared and unique local ones unless inside spec.upstream.calloutPrivateNetworks
// (or the host is one the configuration named: `trusted`). One function, used by the egress client
// (ServiceCallout, JavaScript's httpClient) and by MessageLogging's senders, on the address a
// connection is about to reach or has reached.
import { isIP } from 'node:net';
import { networkList, privateAddressClass, refusedTargetClass } from '../../../protos/policies/target-address.ts';
import type { EgressRules } from '../flow/types.ts';

/** Why an IP address may not be reached under the rules, or undefined. Throws on a CIDR that does not parse. */
export function addressRefusal(rules: EgressRules, trusted = false): (address: string) => string | undefined {
  const allowed = networkList(rules.privateNetworks);
  return (address) => {
    if (!rules.allowLinkLocal) {
      const cls = refusedTargetClass(address);
      if (cls) return `${address} is a ${cls} address`;
    }
    if (trusted) return undefined;
    const cls = privateAddressClass(address);
    if (cls && !allowed.check(address, isIP(address) === 6 ? 'ipv6' : 'ipv4'))
      return `${address} is a ${cls} address outside the DataPlane's spec.upstream.calloutPrivateNetworks`;
    return undefined;
  };
}

/** A host name that is itself a cloud metadata name (metadata.google.internal, ...), unless the rules allow link-local. */
export function nameRefusal(rules: EgressRules, host: string): string | undefined {
  if (rules.allowLinkLocal) return undefined;
  const cls = refusedTargetClass(host);
  return cls ? `${host} is a ${cls} name` : undefined;
}
