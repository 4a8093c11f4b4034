import { describe, expect, it } from 'vitest';
import { notFoundMessage, secretsNotFound } from './report.ts';

describe('secretsNotFound', () => {
  it('finds every Secret notFoundMessage names, and only Secrets', () => {
    const message = `spec.a: ${notFoundMessage('Secret', 'ca', 'shop')}; spec.b: ${notFoundMessage('ApiProduct', 'gold', 'shop')}; spec.c: ${notFoundMessage('Secret', 'key.v2', 'team-b')}`;
    expect(secretsNotFound(message)).toEqual([
      ['Secret "ca" not found in namespace shop', 'ca', 'shop'],
      ['Secret "key.v2" not found in namespace team-b', 'key.v2', 'team-b'],
    ]);
  });
});
