// What <JSONToXML> and <XMLToJSON> share: <Source>, <OutputVariable> and the option strings named alike
// (docs/policies.md#jsontoxml). Apigee's `message` is the phase's message, Gatehouse's default.
import type { XmlElement } from '../xml.ts';
import { compact, type PolicyContext } from './support.ts';

const VARIABLE = /^[A-Za-z0-9_.-]{1,256}$/;

export function variableName(el: XmlElement | undefined, ctx: PolicyContext): string | undefined {
  if (!el || el.text === '' || el.text === 'message') return undefined;
  if (VARIABLE.test(el.text)) return el.text;
  ctx.unsupported(el.xpath, `"${el.text}" is not a message or flow variable name Gatehouse accepts`);
  return undefined;
}

export const lowerFirst = (s: string) => s[0]!.toLowerCase() + s.slice(1);

/** `<Options><Name>text</Name>` → {name: text} for each option name given; empty text is left out. */
export function stringOptions(options: XmlElement | undefined, names: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of names) {
    const c = options?.child(n);
    if (c && c.text !== '') out[lowerFirst(n)] = c.text;
  }
  return out;
}

export function sourceAndOutput(el: XmlElement, ctx: PolicyContext) {
  return compact({
    source: variableName(el.child('Source'), ctx),
    outputVariable: variableName(el.child('OutputVariable'), ctx),
  });
}
