// The message operations AssignMessage and RaiseFault's FaultResponse share: <Add>, <Copy>, <Remove>,
// <Set>, <AssignVariable>, read into Gatehouse's assignMessage operation shapes.
import type { XmlElement } from '../xml.ts';
import { bool, compact, int, names, namedValues, type PolicyContext } from './support.ts';

const PARAMS = [
  ['Headers', 'Header', 'headers'],
  ['QueryParams', 'QueryParam', 'queryParams'],
  ['FormParams', 'FormParam', 'formParams'],
] as const;

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `<Payload contentType=..>`: text, or XML elements written back as XML. Apigee's variablePrefix and
 * variableSuffix (`@name#`, used to keep JSON braces literal) become Gatehouse's `{name}`: its templates
 * read a brace that does not start a reference as text.
 */
export function payload(el: XmlElement | undefined, ctx: PolicyContext) {
  if (!el) return undefined;
  const prefix = el.attr('variablePrefix');
  const suffix = el.attr('variableSuffix');
  const contentType = el.attr('contentType');
  let content = el.children.length > 0 ? el.innerXml().trim() : el.rawText.trim();
  el.consume();
  if (prefix && suffix && (prefix !== '{' || suffix !== '}'))
    content = content.replace(
      new RegExp(`${escapeRegExp(prefix)}([A-Za-z_][A-Za-z0-9_.-]*)${escapeRegExp(suffix)}`, 'g'),
      '{$1}',
    );
  else if (prefix || suffix)
    ctx.unsupported(el.xpath, 'variablePrefix without variableSuffix (or the reverse) has no counterpart');
  return compact({ contentType: contentType || undefined, content });
}

export function addOperation(el: XmlElement, ctx: PolicyContext) {
  const out: Record<string, unknown> = {};
  for (const [group, item, member] of PARAMS) out[member] = namedValues(el.child(group), item, ctx);
  return compact(out);
}

export function setOperation(el: XmlElement, ctx: PolicyContext) {
  const out: Record<string, unknown> = addOperation(el, ctx);
  out['payload'] = payload(el.child('Payload'), ctx);
  const status = el.child('StatusCode');
  if (status) out['statusCode'] = int(status.text, status.xpath, ctx, { min: 200, max: 599 });
  out['reasonPhrase'] = el.childText('ReasonPhrase');
  out['verb'] = el.childText('Verb');
  const path = el.childText('Path');
  if (path !== undefined) {
    if (path.startsWith('/') || path.startsWith('{')) out['path'] = path;
    else ctx.unsupported(`${el.xpath}/Path`, `path "${path}" does not start with /`);
  }
  return compact(out);
}

/** <Remove> and <Copy>: an empty <Headers/> means every header in Apigee; Gatehouse names them. */
function nameLists(el: XmlElement, ctx: PolicyContext) {
  const out: Record<string, unknown> = {};
  for (const [group, item, member] of PARAMS) {
    const g = el.child(group);
    if (g && g.children.length === 0)
      ctx.unsupported(g.xpath, `an empty <${group}> (all of them) has no counterpart: name them`);
    out[member] = names(g, item, ctx);
  }
  return out;
}

export function removeOperation(el: XmlElement, ctx: PolicyContext) {
  return compact({ ...nameLists(el, ctx), payload: bool(el.child('Payload'), ctx) });
}

export function copyOperation(el: XmlElement, ctx: PolicyContext) {
  const source = el.attr('source');
  if (source !== undefined && source !== 'request' && source !== 'response')
    ctx.unsupported(`${el.xpath}/@source`, `source message "${source}": Gatehouse copies from request or response`);
  const out: Record<string, unknown> = {
    source: source === 'request' || source === 'response' ? source : undefined,
    ...nameLists(el, ctx),
  };
  for (const [x, m] of [
    ['Payload', 'payload'],
    ['StatusCode', 'statusCode'],
    ['ReasonPhrase', 'reasonPhrase'],
    ['Verb', 'verb'],
    ['Path', 'path'],
  ] as const)
    out[m] = bool(el.child(x), ctx) || undefined;
  return compact(out);
}

export function assignVariable(el: XmlElement, ctx: PolicyContext) {
  const name = el.childText('Name');
  if (!name) {
    ctx.unsupported(el.xpath, '<AssignVariable> without a <Name>');
    return undefined;
  }
  const ref = el.childText('Ref');
  const value = el.child('Value');
  const template = el.child('Template');
  // A literal for a private.* variable is a secret written in the bundle (a key, a password): it is
  // never copied into the manifests or the report (docs/import.md#secrets).
  if (name.startsWith('private.') && !ref && (value?.rawText.trim() || template?.text)) {
    ctx.unsupported(
      el.xpath,
      `a literal value for the private variable ${name} is a secret: not copied; put it in a Secret and read it with a KeyValueMap or a secretRef`,
    );
    return undefined;
  }
  const templateRef = template?.attr('ref');
  if (templateRef) ctx.unsupported(`${template!.xpath}/@ref`, 'a template read from a variable has no counterpart');
  if (template && template.text !== '') {
    if (ref || value) ctx.unsupported(el.xpath, 'Template wins over Ref and Value; they are dropped');
    return { name, template: template.text };
  }
  if (ref) {
    if (value && value.text !== '')
      ctx.unsupported(value.xpath, `the fallback value "${value.text}" is dropped: Gatehouse reads only the ref`);
    return { name, ref };
  }
  if (value) return { name, value: value.rawText.trim() };
  ctx.unsupported(el.xpath, 'no Value, Ref or Template');
  return undefined;
}

/** Every operation element of `el`, in document order. */
export function operationsOf(el: XmlElement, ctx: PolicyContext): { kind: OperationKind; value: unknown }[] {
  const out: { kind: OperationKind; value: unknown }[] = [];
  for (const c of el.children) {
    const kind = kindOf[c.name];
    if (!kind) continue;
    el.all(c.name);
    const value =
      kind === 'remove'
        ? removeOperation(c, ctx)
        : kind === 'copy'
          ? copyOperation(c, ctx)
          : kind === 'add'
            ? addOperation(c, ctx)
            : kind === 'set'
              ? setOperation(c, ctx)
              : assignVariable(c, ctx);
    if (value !== undefined && (kind === 'assignVariable' || Object.keys(value).length > 0)) out.push({ kind, value });
  }
  return out;
}

export type OperationKind = 'remove' | 'copy' | 'add' | 'set' | 'assignVariable';
const kindOf: Record<string, OperationKind> = {
  Remove: 'remove',
  Copy: 'copy',
  Add: 'add',
  Set: 'set',
  AssignVariable: 'assignVariable',
};
export const fixedOrder: readonly OperationKind[] = ['remove', 'copy', 'add', 'set', 'assignVariable'];
