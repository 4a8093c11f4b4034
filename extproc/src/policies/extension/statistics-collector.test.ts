import { describe, expect, it } from 'vitest';
import { makePolicyContext } from '../../flow/policy-context.test-support.ts';
import { statisticsCollector } from '../../../../protos/policies/extension/statistics-collector.ts';
import { PolicyConfigError } from '../support.ts';
import { statisticsCollectorPolicy, statisticsVariable } from './statistics-collector.ts';

const meta = { namespace: 'shop', name: 'publishPurchaseDetails' };

describe('StatisticsCollector', () => {
  it("Apigee's example: productID and price from variables, typed; defaults when unset", () => {
    // <Statistic name="productID" ref="product.id" type="string">999999</Statistic>
    // <Statistic name="price" ref="product.price" type="string">0</Statistic>
    const step = statisticsCollectorPolicy.create(
      {
        statistics: [
          { name: 'productID', ref: 'product.id', type: 'string', default: '999999' },
          { name: 'price', ref: 'product.price', type: 'double', default: '0' },
          { name: 'inStock', ref: 'product.instock', type: 'boolean' },
        ],
      },
      meta,
    );
    const ctx = makePolicyContext();
    ctx.variables.set('product.id', 'sku-42');
    ctx.variables.set('product.price', '19.99');
    ctx.variables.set('product.instock', 'TRUE');
    void step(ctx);
    expect(ctx.variables.get(statisticsVariable)).toEqual({ productID: 'sku-42', price: 19.99, inStock: true });

    const unset = makePolicyContext();
    void step(unset);
    expect(unset.variables.get(statisticsVariable)).toEqual({ productID: '999999', price: 0 });
  });

  it('a value that does not convert records the default (Apigee), or nothing without one', () => {
    const step = statisticsCollectorPolicy.create(
      {
        statistics: [
          { name: 'qty', ref: 'order.qty', type: 'integer', default: '-1' },
          { name: 'big', ref: 'order.big', type: 'integer' },
          { name: 'flag', ref: 'order.flag', type: 'boolean', default: 'false' },
        ],
      },
      meta,
    );
    const ctx = makePolicyContext();
    ctx.variables.set('order.qty', '12abc');
    ctx.variables.set('order.big', '99999999999'); // past a 32-bit integer
    ctx.variables.set('order.flag', 'yes');
    void step(ctx);
    expect(ctx.variables.get(statisticsVariable)).toEqual({ qty: -1, flag: false });
  });

  it('later steps add to and replace the dimensions; long strings are cut', () => {
    const first = statisticsCollectorPolicy.create({ statistics: [{ name: 'a', ref: 'x' }] }, meta);
    const second = statisticsCollectorPolicy.create(
      {
        statistics: [
          { name: 'a', ref: 'y' },
          { name: 'b', ref: 'z' },
        ],
      },
      meta,
    );
    const ctx = makePolicyContext();
    ctx.variables.set('x', 'one');
    ctx.variables.set('y', 'two');
    ctx.variables.set('z', 'é'.repeat(5000));
    void first(ctx);
    void second(ctx);
    const dims = ctx.variables.get(statisticsVariable) as Record<string, string>;
    expect(dims.a).toBe('two');
    expect(dims.b).toHaveLength(1024);
  });

  it('refuses reserved, duplicate and badly formed names, and defaults that do not convert', () => {
    const problems = statisticsCollector.validate!({
      statistics: [
        { name: 'apiproxy', ref: 'a' },
        { name: 'IS_ERROR', ref: 'a' },
        { name: 'ax_custom', ref: 'a' },
        { name: 'x_apigee_thing', ref: 'a' },
        { name: 'dup', ref: 'a' },
        { name: 'DUP', ref: 'a' },
        { name: 'n', ref: 'a', type: 'integer', default: 'ten' },
      ],
    });
    expect(problems.map((p) => p.path)).toEqual([
      'statistics[0].name',
      'statistics[1].name',
      'statistics[2].name',
      'statistics[3].name',
      'statistics[5].name',
      'statistics[6].default',
    ]);
    expect(() => statisticsCollectorPolicy.create({ statistics: [{ name: 'request_path', ref: 'a' }] }, meta)).toThrow(
      PolicyConfigError,
    );
  });
});
