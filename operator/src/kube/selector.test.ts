import { describe, expect, it } from 'vitest';
import { SelectorError } from './errors.ts';
import { fieldsEvaluable, matchesFields, matchesLabels, parseSelector, selectorCovers } from './selector.ts';

describe('selectors', () => {
  it('parse into a canonical form: sorted, == as =, set values sorted and unique', () => {
    expect(parseSelector('b=2, a==1').canonical).toBe('a=1,b=2');
    expect(parseSelector('x in (c, a,a), !y, z, w!=v').canonical).toBe('!y,w!=v,x in (a,c),z');
    expect(parseSelector('').canonical).toBe('');
    expect(parseSelector(undefined).requirements).toEqual([]);
    expect(() => parseSelector('a=b=c')).toThrow(SelectorError);
  });

  it('match labels with apimachinery semantics', () => {
    const labels = { app: 'envoy', tier: 'edge' };
    const m = (s: string) => matchesLabels(parseSelector(s), labels);
    expect(m('app=envoy,tier')).toBe(true);
    expect(m('app=extproc')).toBe(false);
    expect(m('!missing,app!=extproc')).toBe(true);
    expect(m('app in (envoy,extproc)')).toBe(true);
    expect(m('app notin (envoy)')).toBe(false);
    expect(m('missing notin (x)')).toBe(true);
    expect(m('missing!=x')).toBe(true);
    expect(matchesLabels(parseSelector('app'), undefined)).toBe(false);
    expect(matchesLabels(parseSelector(''), undefined)).toBe(true);
  });

  it('evaluate field selectors on metadata.name and metadata.namespace only', () => {
    const byName = parseSelector('metadata.name=ca');
    expect(fieldsEvaluable(byName)).toBe(true);
    expect(matchesFields(byName, { name: 'ca', namespace: 'x' })).toBe(true);
    expect(matchesFields(byName, { name: 'other' })).toBe(false);
    expect(matchesFields(parseSelector('metadata.namespace!=x'), { name: 'a', namespace: 'y' })).toBe(true);
    expect(fieldsEvaluable(parseSelector('spec.nodeName=n1'))).toBe(false);
  });

  it('cover when every requirement of the broader one is among the narrower one’s', () => {
    const covers = (a: string, b: string) => selectorCovers(parseSelector(a), parseSelector(b));
    expect(covers('', 'a=1')).toBe(true);
    expect(covers('a=1', 'a==1,b=2')).toBe(true);
    expect(covers('a=1,b=2', 'a=1')).toBe(false);
    expect(covers('a=1', 'a=2')).toBe(false);
    // Conservative: a set is not seen to cover one of its members.
    expect(covers('a in (1,2)', 'a=1')).toBe(false);
  });
});
