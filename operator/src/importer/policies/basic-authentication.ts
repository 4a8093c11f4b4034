// <BasicAuthentication> -> BasicAuthentication (docs/policies.md#basicauthentication).
import { compact, type PolicyConverter } from './support.ts';

export const basicAuthenticationConverter: PolicyConverter = {
  type: 'BasicAuthentication',
  convert(el, ctx) {
    const operation = el.childText('Operation');
    if (operation !== 'Encode' && operation !== 'Decode') {
      ctx.unsupported(`${el.xpath}/Operation`, `operation "${operation ?? ''}" is not Encode or Decode`);
      return undefined;
    }
    const refOf = (name: string) => {
      const c = el.child(name);
      const ref = c?.attr('ref');
      if (!ref) ctx.unsupported(c?.xpath ?? `${el.xpath}/${name}`, `<${name}> needs a ref (a literal is never kept)`);
      return ref;
    };
    const user = refOf('User');
    const password = refOf('Password');
    if (!user || !password) return undefined;
    const assignTo = el.child('AssignTo');
    if (assignTo?.attr('createNew') === 'true')
      ctx.unsupported(`${assignTo.xpath}/@createNew`, 'no new messages in Gatehouse');
    const ignore = el.child('IgnoreUnresolvedVariables');
    if (ignore && ignore.text.toLowerCase() === 'true')
      ctx.unsupported(ignore.xpath, 'Gatehouse raises a fault for an unresolved variable');
    return compact({
      operation,
      user: { ref: user },
      password: { ref: password },
      assignTo: operation === 'Encode' ? assignTo?.text || undefined : undefined,
      source: operation === 'Decode' ? el.childText('Source') : undefined,
    });
  },
};
