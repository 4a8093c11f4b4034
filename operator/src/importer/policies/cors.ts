// <CORS> -> CORS (docs/policies.md#cors).
import { bool, compact, int, type PolicyConverter } from './support.ts';

const list = (text: string | undefined) =>
  text === undefined
    ? undefined
    : text
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '');

export const corsConverter: PolicyConverter = {
  type: 'CORS',
  convert(el, ctx) {
    const originsEl = el.child('AllowOrigins');
    // Apigee's usual {request.header.origin} echoes any origin: Gatehouse's "*".
    const origins = list(originsEl?.text)?.map((o) => (o === '{request.header.origin}' ? '*' : o));
    const templated = origins?.filter((o) => o.includes('{'));
    if (templated && templated.length > 0 && originsEl)
      ctx.unsupported(originsEl.xpath, `origins from flow variables (${templated.join(', ')}) have no counterpart`);
    const allowOrigins = origins?.filter((o) => !o.includes('{'));
    if (!allowOrigins || allowOrigins.length === 0) {
      ctx.unsupported(originsEl?.xpath ?? el.xpath, 'no origin Gatehouse can use');
      return undefined;
    }
    const methods = list(el.childText('AllowMethods'));
    const headers = list(el.childText('AllowHeaders'));
    const expose = list(el.childText('ExposeHeaders'));
    const gen = el.child('GeneratePreflightResponse');
    if (gen && gen.text.toLowerCase() === 'false')
      ctx.unsupported(gen.xpath, 'Gatehouse always answers preflight requests');
    el.child('IgnoreUnresolvedVariables')?.consume();
    const maxAge = el.child('MaxAge');
    // "*" allow headers is Gatehouse's default (echo what the preflight asks); "*" methods and expose headers are not.
    for (const [name, values] of [
      ['AllowMethods', methods],
      ['ExposeHeaders', expose],
    ] as const)
      if (values?.includes('*')) ctx.unsupported(`${el.xpath}/${name}`, '"*" has no counterpart: list the names');
    return compact({
      allowOrigins,
      allowMethods: methods && !methods.includes('*') ? methods : undefined,
      allowHeaders: headers && !headers.includes('*') ? headers : undefined,
      exposeHeaders: expose && !expose.includes('*') ? expose : undefined,
      maxAge: maxAge ? int(maxAge.text, maxAge.xpath, ctx, { min: 0, max: 86_400 }) : undefined,
      allowCredentials: bool(el.child('AllowCredentials'), ctx),
    });
  },
};
