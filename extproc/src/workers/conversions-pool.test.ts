// JSONToXML and XMLToJSON on the worker pool (docs/policies.md#jsontoxml): a large body converts on a
// real worker thread to exactly what the inline task gives, and a hostile one fails there the same way.
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerPool } from './pool.ts';
import { tasks } from './tasks.ts';

const pool = new WorkerPool({ size: 1, queueLimit: 4, script: new URL('./testing-worker.ts', import.meta.url) });
afterAll(() => pool.close());
const far = () => ({ deadline: performance.now() + 60_000, budgetMs: 60_000 });

describe('conversions on the worker pool', () => {
  const lines = Array.from({ length: 3000 }, (_, i) => ({ sku: `S-${i}`, qty: i % 7, gift: i % 2 === 0 }));
  const json = JSON.stringify({ order: { id: 'A-1', line: lines } });
  const xml = `<order id="A-1">${lines.map((l) => `<line sku="${l.sku}"><qty>${l.qty}</qty><gift>${l.gift}</gift></line>`).join('')}</order>`;

  it('XMLToJSON and JSONToXML of a 100-150 KB body give the inline answer', async () => {
    await pool.ready();
    const x2j = { body: Buffer.from(xml), options: { recognizeNumber: true, attributePrefix: '@' } };
    const j2x = { body: Buffer.from(json), options: { objectRootElementName: 'order' } };
    const [fromXml, fromJson] = await Promise.all([
      pool.run('xml.toJson', x2j, far()),
      pool.run('json.toXml', j2x, far()),
    ]);
    expect(fromXml).toEqual(tasks['xml.toJson'](x2j));
    expect(fromJson).toEqual(tasks['json.toXml'](j2x));
    expect([Object.keys(fromXml as object), Object.keys(fromJson as object)]).toEqual([['output'], ['output']]);
  });

  it('a billion-laughs document and a depth bomb fail on the worker as they do inline', async () => {
    const laughs = { body: Buffer.from('<!DOCTYPE l [<!ENTITY a "ha">]><l>&a;</l>'), options: {} };
    const bomb = { body: Buffer.from('['.repeat(500_000)), options: {} };
    expect(await pool.run('xml.toJson', laughs, far())).toEqual({
      error: 'DOCTYPE and entity declarations are not allowed',
    });
    expect(await pool.run('json.toXml', bomb, far())).toEqual({ error: 'Exceeded container depth, max 256 allowed' });
  });
});
