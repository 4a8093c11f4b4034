// <XSL> -> XSLTransform (docs/policies.md#xsltransform). The stylesheet ResourceURL names
// (xsl://name, apiproxy/resources/xsl/name) is read from the bundle and put inline; one the compiler
// would refuse (xsl:include, xsl:import, document(), a DOCTYPE) is reported and the policy not converted.
import { stylesheetProblems } from '../../../../protos/policies/mediation/xsl-transform.ts';
import { variableName } from './conversion-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const xslConverter: PolicyConverter = {
  type: 'XSL',
  gatehouseType: 'XSLTransform',
  resourceSchemes: ['xsl'],
  convert(el, ctx) {
    const urlEl = el.child('ResourceURL');
    const resourceURL = urlEl?.text ?? '';
    if (!urlEl || resourceURL === '') {
      ctx.unsupported(urlEl?.xpath ?? el.xpath, 'no <ResourceURL> naming the stylesheet');
      return undefined;
    }
    const stylesheet = ctx.resource(resourceURL, urlEl.xpath);
    if (stylesheet === undefined) return undefined;
    const problems = stylesheetProblems(stylesheet);
    if (problems.length > 0) {
      ctx.unsupported(urlEl.xpath, problems.map((p) => p.message).join('; '));
      return undefined;
    }
    const source = variableName(el.child('Source'), ctx);
    let outputVariable = variableName(el.child('OutputVariable'), ctx);
    // Apigee's `<message>.content` of the source message is where Gatehouse writes by default.
    if (outputVariable === `${source ?? 'message'}.content` || outputVariable === 'message.content')
      outputVariable = undefined;
    const params = el.child('Parameters');
    const parameter = (params?.all('Parameter') ?? []).flatMap((p) => {
      const name = p.attr('name');
      const ref = p.attr('ref');
      const value = p.attr('value');
      if (!name || (ref === undefined && value === undefined)) {
        ctx.unsupported(p.xpath, 'a <Parameter> needs a name and a ref or a value');
        return [];
      }
      return [compact({ name, ref, value })];
    });
    const ignore = params?.attr('ignoreUnresolvedVariables')?.toLowerCase();
    if (ignore !== undefined && ignore !== 'true' && ignore !== 'false')
      ctx.unsupported(`${params!.xpath}/@ignoreUnresolvedVariables`, `"${ignore}" is not true or false`);
    const ignoreUnresolvedVariables = ignore === 'true' ? true : ignore === 'false' ? false : undefined;
    return compact({
      source,
      outputVariable,
      resourceURL,
      stylesheet,
      parameters: parameter.length > 0 ? compact({ ignoreUnresolvedVariables, parameter }) : undefined,
    });
  },
};
