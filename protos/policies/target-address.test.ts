// The address classes callouts refuse (docs/policies.md#servicecallout): private, shared, loopback and
// unique local addresses in every spelling Node hands a lookup, and the CIDR lists a DataPlane gives.
import { describe, expect, it } from 'vitest';
import { networkList, privateAddressClass, refusedTargetClass } from './target-address.ts';

describe('privateAddressClass', () => {
  it.each([
    ['10.0.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.1', 'private'],
    ['127.0.0.1', 'loopback'],
    ['::1', 'loopback'],
    ['100.64.0.1', 'shared address space'],
    ['fd12:3456::1', 'unique local'],
    ['::ffff:10.1.2.3', 'private'],
    ['64:ff9b::a01:203', 'private'],
  ])('%s is %s', (address, cls) => expect(privateAddressClass(address)).toBe(cls));

  it.each(['8.8.8.8', '172.32.0.1', '2001:db8::1', '100.128.0.1', 'example.com'])('%s is not private', (address) =>
    expect(privateAddressClass(address)).toBeUndefined(),
  );

  it('leaves metadata and link-local to refusedTargetClass', () => {
    expect(privateAddressClass('169.254.169.254')).toBeUndefined();
    expect(refusedTargetClass('169.254.169.254')).toBe('cloud metadata');
  });
});

describe('networkList', () => {
  it('holds IPv4 and IPv6 blocks', () => {
    const list = networkList(['10.20.0.0/16', 'fd00:1::/64']);
    expect(list.check('10.20.3.4', 'ipv4')).toBe(true);
    expect(list.check('10.21.0.1', 'ipv4')).toBe(false);
    expect(list.check('fd00:1::5', 'ipv6')).toBe(true);
  });

  it.each(['10.0.0.0', '10.0.0.0/33', '999.1.1.1/8', 'fd00::/129', 'x/8', '10.0.0.0/-1'])('refuses %s', (cidr) =>
    expect(() => networkList([cidr])).toThrow(/is not a CIDR/),
  );
});
