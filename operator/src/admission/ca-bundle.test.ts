import { describe, expect, it } from 'vitest';
import { caBundlePatch } from './ca-bundle.ts';

describe('caBundlePatch', () => {
  it('patches only the webhooks whose caBundle differs, testing each one’s name first', () => {
    const config = {
      webhooks: [
        { name: 'a.gatehouse.dev', clientConfig: { caBundle: 'NEW' } },
        { name: 'b.gatehouse.dev', clientConfig: { caBundle: 'OLD' } },
        { name: 'c.gatehouse.dev', clientConfig: { url: 'https://127.0.0.1:1/validate' } },
        { name: 'd.gatehouse.dev' },
      ],
    };
    expect(caBundlePatch(config, 'NEW')).toEqual([
      { op: 'test', path: '/webhooks/1/name', value: 'b.gatehouse.dev' },
      { op: 'add', path: '/webhooks/1/clientConfig/caBundle', value: 'NEW' },
      { op: 'test', path: '/webhooks/2/name', value: 'c.gatehouse.dev' },
      { op: 'add', path: '/webhooks/2/clientConfig/caBundle', value: 'NEW' },
      { op: 'test', path: '/webhooks/3/name', value: 'd.gatehouse.dev' },
      { op: 'add', path: '/webhooks/3/clientConfig', value: { caBundle: 'NEW' } },
    ]);
    expect(caBundlePatch({ webhooks: [{ name: 'a', clientConfig: { caBundle: 'NEW' } }] }, 'NEW')).toEqual([]);
    expect(caBundlePatch({}, 'NEW')).toEqual([]);
  });
});
