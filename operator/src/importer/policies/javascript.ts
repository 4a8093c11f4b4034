// <Javascript> -> JavaScript (docs/policies.md#javascript). The scripts ResourceURL and IncludeURL name
// (jsc://name, apiproxy/resources/jsc/name) are read from the bundle and put inline, as are an inline
// <Source>; Properties become `properties`. A script that does not parse is reported and the policy not
// converted (the compiler would refuse it). SSLInfo is httpClient's TLS, which Gatehouse's
// httpClient does not take (no client certificates; servers are checked against the system's roots).
import { MAX_TIME_LIMIT_MS, scriptSyntaxProblem } from '../../../../protos/policies/extension/javascript.ts';
import { compact, int, type PolicyConverter } from './support.ts';

const label = (url: string) => url.replace(/^jsc:\/\//, '');

export const javaScriptConverter: PolicyConverter = {
  type: 'Javascript',
  gatehouseType: 'JavaScript',
  resourceSchemes: ['jsc'],
  readsProperties: true,
  convert(el, ctx) {
    const timeLimit = int(el.attr('timeLimit'), `/${el.name}/@timeLimit`, ctx, { min: 1, max: MAX_TIME_LIMIT_MS });
    const urlEl = el.child('ResourceURL');
    const inline = el.child('Source');
    const resourceURL = urlEl?.text || undefined;
    let source: string | undefined;
    if (resourceURL !== undefined) source = ctx.resource(resourceURL, urlEl!.xpath);
    else if (inline && inline.text !== '') source = inline.text;
    else {
      ctx.unsupported(el.xpath, 'neither a <ResourceURL> nor a <Source> gives the script');
      return undefined;
    }
    if (source === undefined) return undefined;
    const includes: Array<{ url: string; source: string }> = [];
    for (const include of el.all('IncludeURL')) {
      const text = ctx.resource(include.text, include.xpath);
      if (text === undefined) return undefined;
      includes.push({ url: include.text, source: text });
    }
    for (const [i, script] of [...includes, { url: resourceURL ?? 'jsc://source', source }].entries()) {
      const problem = scriptSyntaxProblem(script.source, label(script.url));
      if (problem) {
        const xpath = i < includes.length ? el.all('IncludeURL')[i]!.xpath : (urlEl ?? inline ?? el).xpath;
        ctx.unsupported(xpath, `the script does not parse: ${problem}`);
        return undefined;
      }
    }
    const properties: Record<string, string> = {};
    for (const p of el.child('Properties')?.all('Property') ?? []) {
      const name = p.attr('name');
      if (!name) ctx.unsupported(p.xpath, 'a <Property> needs a name');
      else properties[name] = p.text;
    }
    el.child('SSLInfo')?.consume();
    if (el.child('SSLInfo'))
      ctx.unsupported(
        `${el.xpath}/SSLInfo`,
        "httpClient takes no TLS settings in Gatehouse (no client certificate; the system's CA roots)",
      );
    return compact({
      timeLimit,
      resourceURL,
      source,
      includes: includes.length > 0 ? includes : undefined,
      properties: Object.keys(properties).length > 0 ? properties : undefined,
    });
  },
};
