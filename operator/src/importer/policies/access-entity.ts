// <AccessEntity> -> AccessEntity (docs/policies.md#accessentity). Entity and identifier types Gatehouse
// has no counterpart for (company, companydeveloper, appgroup, ...) are reported and the policy is not
// converted; a literal consumer key is refused (it would stand in the manifests in clear).
import {
  entityTypes,
  identifiersOf,
  identifierTypes,
  secondaryIdentifierTypes,
} from '../../../../protos/policies/mediation/access-entity.ts';
import type { XmlElement } from '../xml.ts';
import { compact, refOrText, type PolicyContext, type PolicyConverter } from './support.ts';

function identifier(el: XmlElement | undefined, types: readonly string[], ctx: PolicyContext) {
  // Gatehouse's type names are Apigee's, lowercase (identifierTypes lists them all).
  if (!el) return undefined;
  const type = el.attr('type')?.toLowerCase() ?? '';
  if (!types.includes(type)) {
    const why = (identifierTypes as readonly string[]).includes(type) ? 'here' : 'in Gatehouse';
    ctx.unsupported(`${el.xpath}/@type`, `identifier type "${type}" has no counterpart ${why} (${types.join(', ')})`);
    return undefined;
  }
  const value = refOrText(el, ctx, (text) => text);
  if (value === undefined) {
    ctx.unsupported(el.xpath, 'no ref and no value');
    return undefined;
  }
  if (type === 'consumerkey' && typeof value === 'string') {
    ctx.unsupported(el.xpath, 'a literal consumer key would stand in the manifests in clear; use a ref');
    return undefined;
  }
  return { type, value };
}

export const accessEntityConverter: PolicyConverter = {
  type: 'AccessEntity',
  convert(el, ctx) {
    const typeEl = el.child('EntityType');
    const entityType = typeEl?.attr('value')?.toLowerCase() ?? typeEl?.text.toLowerCase() ?? '';
    if (!(entityTypes as readonly string[]).includes(entityType)) {
      ctx.unsupported(typeEl?.xpath ?? el.xpath, `entity type "${entityType}" is not one of ${entityTypes.join(', ')}`);
      return undefined;
    }
    const idEl = el.child('EntityIdentifier');
    const allowed = identifiersOf[entityType as (typeof entityTypes)[number]];
    const entityIdentifier = identifier(idEl, allowed, ctx);
    if (!entityIdentifier) {
      if (!idEl) ctx.unsupported(el.xpath, `no <EntityIdentifier> (of type ${allowed.join(', ')})`);
      return undefined;
    }
    const secondaryEl = el.child('SecondaryIdentifier');
    const secondaryIdentifier = identifier(secondaryEl, secondaryIdentifierTypes, ctx);
    if (secondaryEl && !secondaryIdentifier) return undefined;
    if (secondaryIdentifier && entityIdentifier.type !== 'appname') {
      ctx.unsupported(secondaryEl!.xpath, 'Gatehouse takes a <SecondaryIdentifier> only with an appname identifier');
      return undefined;
    }
    const formatEl = el.child('OutputFormat');
    const format = formatEl?.text.toUpperCase();
    if (formatEl && format !== 'XML' && format !== 'JSON')
      ctx.unsupported(formatEl.xpath, `output format "${formatEl.text}" is not XML or JSON`);
    return compact({
      entityType,
      entityIdentifier,
      secondaryIdentifier,
      outputFormat: format === 'XML' || format === 'JSON' ? format : undefined,
    });
  },
};
