// <JavaCallout> -> JavaCallout (docs/policies.md#javacallout): ClassName, ResourceURL and Properties
// carry over as they are. The jar itself does not: it must be recompiled against the
// gatehouse-callout-api jar and put in the DataPlane's javaCallouts ConfigMap, which the report says.
import { compact, namedValues, type PolicyConverter } from './support.ts';

const RESOURCE_URL = /^java:\/\/[A-Za-z0-9][A-Za-z0-9._-]{0,200}\.jar$/;

export const javaCalloutConverter: PolicyConverter = {
  type: 'JavaCallout',
  readsProperties: true,
  convert(el, ctx) {
    const className = el.child('ClassName');
    const resource = el.child('ResourceURL');
    if (!className?.text || !resource?.text) {
      ctx.unsupported(el.xpath, 'a JavaCallout needs <ClassName> and <ResourceURL>');
      return undefined;
    }
    if (!RESOURCE_URL.test(resource.text)) {
      ctx.unsupported(resource.xpath, `ResourceURL "${resource.text}" is not java://NAME.jar`);
      return undefined;
    }
    ctx.unsupported(
      resource.xpath,
      `the jar ${resource.text.slice('java://'.length)} is not carried over: recompile it against gatehouse-callout-api and put it in the DataPlane's javaCallouts ConfigMap (docs/policies.md#javacallout)`,
    );
    return compact({
      className: className.text,
      resourceURL: resource.text,
      properties: namedValues(el.child('Properties'), 'Property', ctx),
    });
  },
};
