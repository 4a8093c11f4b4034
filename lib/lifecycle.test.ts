import { describe, expect, it } from 'vitest';
import { Lifecycle } from './lifecycle.ts';
import { createLogger } from './log.ts';

describe('Lifecycle', () => {
  it('closes parts newest first, once, and goes on past a part that fails', async () => {
    const order: string[] = [];
    const life = new Lifecycle(createLogger('test', 'silent'));
    life.onStop('store', () => void order.push('store'));
    life.onStop('server', () => {
      order.push('server');
      return Promise.reject(new Error('drain failed'));
    });
    life.onStop('listener', () => void order.push('listener'));
    await Promise.all([life.stop(), life.stop()]);
    expect(order).toEqual(['listener', 'server', 'store']);
  });
});
