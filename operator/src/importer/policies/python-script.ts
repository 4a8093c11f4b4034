// <Script> with py:// resources -> Script (docs/policies.md#script-python). The scripts ResourceURL and
// IncludeURL name (apiproxy/resources/py/name) are read from the bundle and put inline; the timeLimit
// attribute and <Properties> carry over. The Python is not checked here (the importer runs no Python):
// a syntax error shows as steps.script.ScriptEvaluationFailed on the first request.
import { MAX_PYTHON_TIME_LIMIT_MS } from '../../../../protos/policies/extension/python-script.ts';
import { int, type PolicyConverter } from './support.ts';

export const pythonScriptConverter: PolicyConverter = {
  type: 'Script',
  resourceSchemes: ['py'],
  readsProperties: true,
  convert(el, ctx) {
    const urlEl = el.child('ResourceURL');
    const resourceURL = urlEl?.text ?? '';
    if (!urlEl || resourceURL === '') {
      ctx.unsupported(urlEl?.xpath ?? el.xpath, 'no <ResourceURL> naming the Python script');
      return undefined;
    }
    const source = ctx.resource(resourceURL, urlEl.xpath);
    if (source === undefined) return undefined;
    const includes: Array<{ resourceURL: string; source: string }> = [];
    for (const include of el.all('IncludeURL')) {
      const text = ctx.resource(include.text, include.xpath);
      // A script without its include would fail on every request: the policy is not converted.
      if (text === undefined) return undefined;
      includes.push({ resourceURL: include.text, source: text });
    }
    const timeLimit = int(el.attr('timeLimit'), `${el.xpath}/@timeLimit`, ctx, {
      min: 1,
      max: MAX_PYTHON_TIME_LIMIT_MS,
    });
    const properties: Record<string, string> = {};
    for (const property of el.child('Properties')?.all('Property') ?? []) {
      const name = property.attr('name');
      if (!name) {
        ctx.unsupported(property.xpath, '<Property> without a name');
        continue;
      }
      properties[name] = property.text;
    }
    return {
      resourceURL,
      source,
      ...(includes.length > 0 ? { includes } : {}),
      ...(timeLimit !== undefined ? { timeLimit } : {}),
      ...(Object.keys(properties).length > 0 ? { properties } : {}),
    };
  },
};
