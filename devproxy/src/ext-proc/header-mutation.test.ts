import { describe, expect, it } from 'vitest';
import { applyHeaderMutation, type MutationViolation } from './header-mutation.ts';

const opt = (key: string, value: string, appendAction = 'OVERWRITE_IF_EXISTS_OR_ADD') =>
  ({
    header: { key, value: '', rawValue: Buffer.from(value) },
    append: null,
    appendAction,
    keepEmptyValue: false,
  }) as never;

describe('applyHeaderMutation', () => {
  it('removes, then sets with each append action, as Envoy does', () => {
    const v: MutationViolation[] = [];
    const out = applyHeaderMutation(
      [
        ['a', '1'],
        ['b', '2'],
        ['c', '3'],
      ],
      {
        removeHeaders: ['c'],
        setHeaders: [
          opt('a', 'x'),
          opt('b', 'y', 'APPEND_IF_EXISTS_OR_ADD'),
          opt('d', 'z', 'ADD_IF_ABSENT'),
          opt('a', 'no', 'ADD_IF_ABSENT'),
          opt('e', 'no', 'OVERWRITE_IF_EXISTS'),
        ],
      },
      () => false,
      v,
    );
    expect(out).toEqual([
      ['b', '2'],
      ['a', 'x'],
      ['b', 'y'],
      ['d', 'z'],
    ]);
    expect(v).toEqual([]);
  });

  it('reports protected headers, refused pseudo-headers and values without raw_value', () => {
    const v: MutationViolation[] = [];
    applyHeaderMutation(
      [],
      {
        removeHeaders: ['host'],
        setHeaders: [
          opt('x-envoy-x', '1'),
          opt(':authority', 'evil'),
          {
            header: { key: 'k', value: 'v', rawValue: Buffer.alloc(0) },
            append: null,
            appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD',
            keepEmptyValue: false,
          },
        ],
      },
      () => false,
      v,
    );
    expect(v.map((x) => x.header)).toEqual(['host', 'x-envoy-x', ':authority', 'k']);
  });
});
