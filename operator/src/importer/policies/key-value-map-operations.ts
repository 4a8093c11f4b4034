// <KeyValueMapOperations> -> KeyValueMapOperations (docs/policies.md#keyvaluemapoperations): mapIdentifier,
// <MapName ref>, <Scope>, <ExpiryTimeInSecs>, <ExclusiveCache>, <InitialEntries>, <Put override>,
// <Get assignTo index>, <Delete>, each <Key><Parameter ref|text> and <Value ref|text>. The map itself is
// organisation data: a policy that reads one is reported (create the KeyValueMap object).
import { kvmScopes, type KvmScope } from '../../../../protos/policies/mediation/key-value-map-operations.ts';
import type { XmlElement } from '../xml.ts';
import { bool, compact, int, refOrText, type PolicyContext, type PolicyConverter, type RefOr } from './support.ts';

const MAX_SECS = 31_536_000;

/** `<Key><Parameter>..</Parameter></Key>` -> {parameters}; undefined (reported) when it has none. */
function key(parent: XmlElement, ctx: PolicyContext): { parameters: RefOr<string>[] } | undefined {
  const k = parent.child('Key');
  const parameters = (k?.all('Parameter') ?? [])
    .map((p) => refOrText(p, ctx, (t) => t))
    .filter((p): p is RefOr<string> => p !== undefined);
  if (parameters.length === 0) {
    ctx.unsupported(k?.xpath ?? parent.xpath, 'no <Key><Parameter>: the operation is left out');
    return undefined;
  }
  return { parameters };
}

function values(parent: XmlElement, ctx: PolicyContext): RefOr<string>[] | undefined {
  const vs = parent
    .all('Value')
    .map((v) => refOrText(v, ctx, (t) => t))
    .filter((v): v is RefOr<string> => v !== undefined);
  if (vs.length === 0) {
    ctx.unsupported(parent.xpath, 'no <Value>: the put is left out');
    return undefined;
  }
  return vs;
}

function literalEntries(el: XmlElement | undefined, ctx: PolicyContext) {
  if (!el) return undefined;
  const out: Array<{ key: { parameters: string[] }; value: string[] }> = [];
  for (const e of el.all('Entry')) {
    const parameters = (e.child('Key')?.all('Parameter') ?? []).map((p) => p.text).filter((t) => t !== '');
    const value = e.all('Value').map((v) => v.rawText.trim());
    if (parameters.length === 0 || value.length === 0) ctx.unsupported(e.xpath, 'an entry needs a key and a value');
    else out.push({ key: { parameters }, value });
  }
  return out.length > 0 ? out : undefined;
}

/** Gatehouse runs put, then get, then delete; Apigee runs them in document order. */
function reportOrder(el: XmlElement, ctx: PolicyContext): void {
  const rank: Record<string, number> = { Put: 0, Get: 1, Delete: 2 };
  const ops = el.children.filter((c) => c.name in rank);
  const i = ops.findIndex((c, n) => n > 0 && rank[c.name]! < rank[ops[n - 1]!.name]!);
  if (i > 0)
    ctx.unsupported(
      ops[i]!.xpath,
      `<${ops[i]!.name}> after <${ops[i - 1]!.name}>: Gatehouse runs every put, then every get, then every delete`,
    );
}

export const keyValueMapOperationsConverter: PolicyConverter = {
  type: 'KeyValueMapOperations',
  convert(el, ctx) {
    const mapIdentifier = el.attr('mapIdentifier');
    const mapName = refOrText(el.child('MapName'), ctx, (t) => t);
    if (mapIdentifier === undefined && mapName === undefined) {
      ctx.unsupported(el.xpath, 'no mapIdentifier and no <MapName>');
      return undefined;
    }
    const scopeEl = el.child('Scope');
    const scopeText = scopeEl?.text.toLowerCase();
    let scope: KvmScope | undefined;
    if (scopeText && (kvmScopes as readonly string[]).includes(scopeText)) scope = scopeText as KvmScope;
    else if (scopeEl && scopeText !== '')
      ctx.unsupported(scopeEl.xpath, `scope "${scopeEl.text}" is not one of ${kvmScopes.join(', ')}`);
    const expiry = el.child('ExpiryTimeInSecs');
    reportOrder(el, ctx);
    const put = el.all('Put').flatMap((p) => {
      const k = key(p, ctx);
      const value = values(p, ctx);
      const override = p.attr('override');
      if (override !== undefined && !/^(true|false)$/i.test(override))
        ctx.unsupported(`${p.xpath}/@override`, `"${override}" is not true or false`);
      return k && value
        ? [compact({ override: override?.toLowerCase() === 'true' ? true : undefined, key: k, value })]
        : [];
    });
    const get = el.all('Get').flatMap((g) => {
      const assignTo = g.attr('assignTo');
      const k = key(g, ctx);
      if (!assignTo) ctx.unsupported(g.xpath, 'a <Get> without assignTo is left out');
      const index = int(g.attr('index'), `${g.xpath}/@index`, ctx, { min: 1, max: 16 });
      return assignTo && k ? [compact({ assignTo, index, key: k })] : [];
    });
    const del = el.all('Delete').flatMap((d) => {
      const k = key(d, ctx);
      return k ? [{ key: k }] : [];
    });
    if (put.length + get.length + del.length === 0) {
      ctx.unsupported(el.xpath, 'no <Put>, <Get> or <Delete> that converts');
      return undefined;
    }
    // A map needs no KeyValueMap object to be written; one a Get reads holds organisation data.
    if (get.length > 0)
      ctx.unsupported(
        el.xpath,
        `reads the key value map ${mapIdentifier ?? JSON.stringify(mapName)}: create a KeyValueMap object with its entries (without one the map starts empty)`,
      );
    return compact({
      mapIdentifier,
      mapName,
      scope,
      expiryTimeInSecs: int(expiry?.text, expiry?.xpath ?? el.xpath, ctx, { min: 0, max: MAX_SECS }),
      exclusiveCache: bool(el.child('ExclusiveCache'), ctx),
      initialEntries: literalEntries(el.child('InitialEntries'), ctx),
      put: put.length > 0 ? put : undefined,
      get: get.length > 0 ? get : undefined,
      delete: del.length > 0 ? del : undefined,
    });
  },
};
