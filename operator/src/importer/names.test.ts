import { describe, expect, it } from 'vitest';
import { baseName, deriveNames, flowName } from './names.ts';

const dns = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

describe('Kubernetes names for Apigee names', () => {
  it('lowercases and replaces what DNS-1123 labels do not allow', () => {
    expect(baseName('Verify-API-Key')).toBe('verify-api-key');
    expect(baseName('AM.Add_Headers 1')).toBe('am-add-headers-1');
    expect(baseName('--__--')).toBe('x');
  });

  it('gives names that meet a hash of the original, the same whatever the order they come in', () => {
    const a = deriveNames(['Same_Name', 'same-name', 'Other']);
    const b = deriveNames(['Other', 'same-name', 'Same_Name']);
    expect([...a].sort()).toEqual([...b].sort());
    expect(a.get('Other')).toBe('other');
    expect(a.get('Same_Name')).not.toBe(a.get('same-name'));
    expect(a.get('Same_Name')).toMatch(/^same-name-[0-9a-f]{6}$/);
  });

  it('cuts long names to 63 characters with a hash, so two long names with one prefix stay apart', () => {
    const long1 = `${'A'.repeat(80)}-one`;
    const long2 = `${'A'.repeat(80)}-two`;
    const names = deriveNames([long1, long2]);
    for (const n of names.values()) {
      expect(n.length).toBeLessThanOrEqual(63);
      expect(n).toMatch(dns);
    }
    expect(names.get(long1)).not.toBe(names.get(long2));
  });

  it('flow names keep letters, digits, -, _ and ., and are unique', () => {
    const taken = new Set<string>();
    expect(flowName('get item', taken)).toBe('get-item');
    expect(flowName('get item', taken)).toBe('get-item-2');
    expect(flowName('/orders/{id}', taken)).toBe('orders-id');
    expect(flowName('***', taken)).toBe('flow');
  });
});
