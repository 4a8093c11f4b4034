// MutationUtils::applyHeaderMutations and the mutation rules' Checker, as Envoy v1.36 applies an
// ext_proc HeaderMutation (mutation_utils.cc, filters/common/mutation_rules/mutation_rules.cc).
import { RE2JS } from 're2js';
import { describe, expect, it } from 'vitest';
import type { HeaderMutation__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/HeaderMutation.ts';
import type { HeaderValueOption__Output } from '../../../protos/gen/envoy/envoy/config/core/v3/HeaderValueOption.ts';
import type { HeaderList } from '../http/message.ts';
import { HeaderMutationRejectedError, InvalidHeaderMutationError } from './errors.ts';
import { applyHeaderMutations, type ApplyOptions, type MutationViolation } from './header-mutation.ts';
import { Checker, defaultMutationRules, type MutationRules } from './mutation-rules.ts';

type Set = { key: string; raw?: string; value?: string; append?: boolean; appendAction?: string };
const set = (o: Set): HeaderValueOption__Output => ({
  header: { key: o.key, value: o.value ?? '', rawValue: Buffer.from(o.raw ?? '', 'latin1') },
  append: o.append === undefined ? null : { value: o.append },
  appendAction: (o.appendAction ?? 'APPEND_IF_EXISTS_OR_ADD') as HeaderValueOption__Output['appendAction'],
  keepEmptyValue: false,
});
const mutation = (setHeaders: Set[], removeHeaders: string[] = []): HeaderMutation__Output => ({
  setHeaders: setHeaders.map(set),
  removeHeaders,
});
const rules = (over: Partial<MutationRules> = {}): MutationRules => ({ ...defaultMutationRules, ...over });

function apply(headers: HeaderList, m: HeaderMutation__Output, o: Partial<ApplyOptions> = {}) {
  const rejected: MutationViolation[] = [];
  const result = applyHeaderMutations(headers, m, { checker: new Checker(), rejected, ...o });
  return { ...result, rejected };
}

describe('MutationUtils::applyHeaderMutations', () => {
  it('reads only the deprecated append flag: unset overwrites, whatever append_action says', () => {
    const { headers } = apply(
      [
        ['set-cookie', 'a=1'],
        ['vary', 'accept'],
      ],
      mutation([
        { key: 'set-cookie', raw: 'b=2', appendAction: 'APPEND_IF_EXISTS_OR_ADD' },
        { key: 'vary', raw: 'origin', append: true, appendAction: 'OVERWRITE_IF_EXISTS_OR_ADD' },
        { key: 'x-new', raw: '1', append: true },
        { key: 'x-absent', raw: '1', appendAction: 'OVERWRITE_IF_EXISTS' },
      ]),
    );
    expect(headers).toEqual([
      ['vary', 'accept'],
      ['set-cookie', 'b=2'],
      ['vary', 'origin'],
      ['x-new', '1'],
      ['x-absent', '1'],
    ]);
  });

  it("keeps every value of a multi-value header when each later one has append: true (extproc's Set-Cookie)", () => {
    const { headers } = apply(
      [],
      mutation([
        { key: 'set-cookie', raw: 'a=1', append: false },
        { key: 'set-cookie', raw: 'b=2', append: true },
      ]),
    );
    expect(headers).toEqual([
      ['set-cookie', 'a=1'],
      ['set-cookie', 'b=2'],
    ]);
  });

  it('reads only raw_value: a value alone sets an empty header; both set is an error', () => {
    expect(apply([], mutation([{ key: 'x-a', value: 'v' }])).headers).toEqual([['x-a', '']]);
    const both = apply(
      [],
      mutation([
        { key: 'x-ok', raw: '1' },
        { key: 'x-a', value: 'v', raw: 'r' },
        { key: 'x-late', raw: '1' },
      ]),
    );
    expect(both.error).toBeInstanceOf(InvalidHeaderMutationError);
    expect(both.headers).toEqual([['x-ok', '1']]); // what came before the error stays applied
  });

  it('removes first, then sets, keys lower-cased', () => {
    expect(
      apply(
        [
          ['a', '1'],
          ['b', '2'],
        ],
        mutation([{ key: 'A', raw: 'x' }], ['B', 'a']),
      ).headers,
    ).toEqual([['a', 'x']]);
  });

  it('fails on an invalid name or value, even when the rules would ignore the header', () => {
    expect(apply([], mutation([{ key: 'x-a', raw: 'a\r\nb: c' }])).error).toBeInstanceOf(InvalidHeaderMutationError);
    expect(apply([], mutation([{ key: 'host', raw: 'a\u0000' }])).error).toBeInstanceOf(InvalidHeaderMutationError);
    expect(apply([], mutation([{ key: 'bad name', raw: 'v' }])).error).toBeInstanceOf(InvalidHeaderMutationError);
    expect(apply([], mutation([], ['bad name'])).error).toBeInstanceOf(InvalidHeaderMutationError);
  });

  it('skips content-length sets when the body mode removes content-length (shouldRemoveContentLength)', () => {
    const m = mutation([{ key: 'content-length', raw: '5' }]);
    expect(apply([['content-length', '3']], m, { removeContentLength: true })).toMatchObject({
      headers: [['content-length', '3']],
      rejected: [],
    });
    expect(apply([['content-length', '3']], m).headers).toEqual([['content-length', '5']]);
  });

  it('refuses more entries than max_headers_count, and a result over the header map limits', () => {
    const many = Array.from({ length: 3 }, (_, i) => ({ key: `x-${i}`, raw: '1' }));
    expect(apply([], mutation(many), { limits: { maxHeadersKb: 60, maxHeadersCount: 2 } }).error).toBeInstanceOf(
      InvalidHeaderMutationError,
    );
    expect(
      apply(
        [
          ['a', '1'],
          ['b', '1'],
        ],
        mutation([{ key: 'c', raw: '1' }]),
        { limits: { maxHeadersKb: 60, maxHeadersCount: 2 } },
      ).error,
    ).toBeInstanceOf(InvalidHeaderMutationError);
    expect(
      apply([], mutation([{ key: 'big', raw: 'x'.repeat(2000) }]), {
        limits: { maxHeadersKb: 1, maxHeadersCount: 100 },
      }).error,
    ).toBeInstanceOf(InvalidHeaderMutationError);
  });

  it('IGNORE skips and counts the entry; FAIL (disallow_is_error) stops with an error', () => {
    const ignored = apply(
      [],
      mutation([
        { key: 'x-envoy-debug', raw: '1' },
        { key: 'x-ok', raw: '1' },
      ]),
    );
    expect(ignored).toMatchObject({ headers: [['x-ok', '1']], rejected: [{ header: 'x-envoy-debug' }] });
    expect(ignored.error).toBeUndefined();
    const failed = apply([], mutation([{ key: 'x-envoy-debug', raw: '1' }]), {
      checker: new Checker(rules({ disallowIsError: true })),
    });
    expect(failed.error).toBeInstanceOf(HeaderMutationRejectedError);
    expect(failed.error?.message).toBe('Invalid attempt to modify x-envoy-debug');
  });

  it('CONTINUE_AND_REPLACE lets :method through whatever the rules say (replacing_message)', () => {
    const m = mutation([{ key: ':method', raw: 'POST' }]);
    expect(apply([[':method', 'GET']], m).headers).toEqual([[':method', 'GET']]);
    expect(apply([[':method', 'GET']], m, { replacing: true }).headers).toEqual([[':method', 'POST']]);
  });
});

describe('Checker::isAllowed', () => {
  const check = (r: Partial<MutationRules>, op: 'SET' | 'APPEND' | 'REMOVE', name: string) =>
    new Checker(rules(r)).isAllowed(op, name);

  it('Checker::isAllowed: default rules refuse routing headers and the x-envoy prefix, allow :path and :status', () => {
    for (const name of ['host', ':authority', ':method', ':scheme', 'x-envoy-retry-on', 'x-envoyfoo', 'x-envoy'])
      expect(check({}, 'SET', name), name).toBe(false);
    for (const name of [':path', ':status', 'x-custom', 'content-type'])
      expect(check({}, 'SET', name), name).toBe(true);
  });

  it('Checker::isAllowed: a remove of a pseudo-header or host is refused before any rule, allow_expression included', () => {
    const all = { allowExpression: RE2JS.compile('.*'), allowAllRouting: true };
    expect(check(all, 'REMOVE', ':path')).toBe(false);
    expect(check(all, 'REMOVE', 'host')).toBe(false);
    expect(check(all, 'SET', ':path')).toBe(true);
  });

  it('Checker::isAllowed: disallow_expression wins over allow_expression', () => {
    expect(
      check(
        { allowExpression: RE2JS.compile('x-.*'), disallowExpression: RE2JS.compile('x-secret.*') },
        'SET',
        'x-secret-1',
      ),
    ).toBe(false);
  });

  it('Checker::isAllowed: allow_expression overrides disallow_all, disallow_system, routing and x-envoy', () => {
    const allow = {
      allowExpression: RE2JS.compile('(:path|host|x-envoy-ok|x-a)'),
      disallowAll: true,
      disallowSystem: true,
    };
    for (const name of [':path', 'host', 'x-envoy-ok', 'x-a']) expect(check(allow, 'SET', name), name).toBe(true);
    expect(check(allow, 'SET', 'x-b')).toBe(false);
  });

  it('Checker::isAllowed: the expressions are full matches of the lower-cased name', () => {
    expect(check({ disallowExpression: RE2JS.compile('x-secret') }, 'SET', 'x-secret-1')).toBe(true);
  });

  it('Checker::isAllowed: disallow_all, then routing headers unless allow_all_routing', () => {
    expect(check({ disallowAll: true }, 'SET', 'x-custom')).toBe(false);
    expect(check({ allowAllRouting: true }, 'SET', ':authority')).toBe(true);
  });

  it('Checker::isAllowed: an append to a pseudo-header is always refused; disallow_system refuses every pseudo-header', () => {
    expect(check({}, 'APPEND', ':path')).toBe(false);
    expect(check({ disallowSystem: true }, 'SET', ':path')).toBe(false);
    expect(check({ disallowSystem: true }, 'SET', ':status')).toBe(false);
    expect(check({ disallowSystem: true, allowAllRouting: true }, 'SET', ':authority')).toBe(false);
  });

  it('Checker::isAllowed: allow_envoy lets x-envoy* through', () => {
    expect(check({ allowEnvoy: true }, 'SET', 'x-envoy-debug')).toBe(true);
  });
});

describe('Checker::isValidValue', () => {
  const checker = new Checker(rules({ allowAllRouting: true }));
  it(':status must be a number of at least 200, with no upper bound', () => {
    expect(checker.check('SET', ':status', '404')).toBe('OK');
    expect(checker.check('SET', ':status', '999')).toBe('OK');
    expect(checker.check('SET', ':status', '199')).toBe('IGNORE');
    expect(checker.check('SET', ':status', 'abc')).toBe('IGNORE');
  });
  it(':scheme must be http or https; host and :authority a valid authority', () => {
    expect(checker.check('SET', ':scheme', 'HTTPS')).toBe('OK');
    expect(checker.check('SET', ':scheme', 'ftp')).toBe('IGNORE');
    expect(checker.check('SET', ':authority', 'a.example:80')).toBe('OK');
    expect(checker.check('SET', 'host', 'a b')).toBe('IGNORE');
  });
  it('Checker::check: FAIL instead of IGNORE with disallow_is_error', () => {
    expect(new Checker(rules({ disallowIsError: true })).check('SET', 'host', 'a')).toBe('FAIL');
  });
});
