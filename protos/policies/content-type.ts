// What kind of body a Content-Type declares, decided one way for every policy and both planes: the
// threat guards, RegularExpressionProtection's payload checks, ExtractVariables, the message model's
// form parameters, and the templates that render a payload (which escape by the payload's kind).
//
// The rule (docs/policies-templates.md, "Content types"):
// - every Content-Type value the message carries counts: a header sent twice arrives either as two
//   entries (devproxy, HTTP/2) or as one comma-joined value (Envoy joins repeated inline headers such as
//   Content-Type with ","), so both are split into one list of media types;
// - one media type: `*/json`, `*/x-json` and `*/*+json` are JSON; `*/xml` and `*/*+xml` are XML;
//   `application/x-www-form-urlencoded` is a form; anything else is other. Case, parameters and
//   surrounding whitespace do not matter;
// - more than one media type (even the same one twice) is refused, as Apigee refuses a duplicated
//   Content-Type (`protocol.http.DuplicateHeader`); a value that is not `type/subtype` is refused too;
// - no Content-Type (or an empty one) with a body: the body is sniffed by its first non-whitespace
//   character, `{` or `[` is JSON and `<` is XML, so leaving the header out cannot switch a guard off.

export type BodyKind = 'json' | 'xml' | 'form' | 'other';

export interface MediaType {
  /** Lower-cased `type/subtype`, without parameters: "application/json". */
  essence: string;
  type: string;
  subtype: string;
}

/** Shared between callers (classifyContentType keeps them): never change one. */
export type ContentTypeVerdict =
  /** No Content-Type, or only empty values. */
  | { status: 'none' }
  | { status: 'one'; media: MediaType; kind: BodyKind }
  /** More than one media type: a repeated header or a comma-separated list. */
  | { status: 'many'; count: number }
  /** A value that is not `type/subtype` (RFC 9110 tokens). */
  | { status: 'malformed' };

const TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;

/** Splits a header value on the commas that are not inside a quoted parameter value. */
function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c)
        i++; // quoted-pair
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      out.push(value.slice(start, i));
      start = i + 1;
    }
  }
  out.push(value.slice(start));
  return out;
}

/** The media type of one list element, or undefined when it is not `type/subtype[; params]`. */
export function parseMediaType(element: string): MediaType | undefined {
  const semicolon = element.indexOf(';');
  const essence = (semicolon < 0 ? element : element.slice(0, semicolon)).trim().toLowerCase();
  const slash = essence.indexOf('/');
  if (slash < 0) return undefined;
  const type = essence.slice(0, slash);
  const subtype = essence.slice(slash + 1);
  if (!TOKEN.test(type) || !TOKEN.test(subtype)) return undefined;
  return { essence, type, subtype };
}

/** The kind of body a (parsed) media type declares. */
export function kindOfMediaType(media: MediaType): BodyKind {
  const { subtype } = media;
  if (subtype === 'json' || subtype === 'x-json' || subtype.endsWith('+json')) return 'json';
  if (subtype === 'xml' || subtype.endsWith('+xml')) return 'xml';
  if (media.essence === 'application/x-www-form-urlencoded') return 'form';
  return 'other';
}

/**
 * Verdicts of single Content-Type values, frozen (callers share them): a message almost always carries
 * one value, and the guards, the message model and the templates each ask about it on every request
 * (docs/architecture.md#the-policies-per-request-work-issue-20). Bounded: cleared when full, so a
 * client sending a new value each time holds no more than this many.
 */
export const VERDICT_CACHE_SIZE = 256;
/** Longer values are classified each time and never kept. */
const CACHED_VALUE_LENGTH = 256;
const verdicts = new Map<string, ContentTypeVerdict>();

function deepFreeze(verdict: ContentTypeVerdict): ContentTypeVerdict {
  if (verdict.status === 'one') Object.freeze(verdict.media);
  return Object.freeze(verdict);
}

/** Classifies every Content-Type value of a message (all header entries, each possibly a list). */
export function classifyContentType(values: readonly string[]): ContentTypeVerdict {
  if (values.length !== 1 || values[0]!.length > CACHED_VALUE_LENGTH) return classify(values);
  const value = values[0]!;
  let verdict = verdicts.get(value);
  if (verdict === undefined) {
    verdict = deepFreeze(classify(values));
    if (verdicts.size >= VERDICT_CACHE_SIZE) verdicts.clear();
    verdicts.set(value, verdict);
  }
  return verdict;
}

function classify(values: readonly string[]): ContentTypeVerdict {
  const elements = values.flatMap(splitList).filter((e) => e.trim() !== '');
  if (elements.length === 0) return { status: 'none' };
  if (elements.length > 1) return { status: 'many', count: elements.length };
  const media = parseMediaType(elements[0]!);
  if (!media) return { status: 'malformed' };
  return { status: 'one', media, kind: kindOfMediaType(media) };
}

/** The kind of a configured content type (a payload's `contentType`); undefined when it is not one media type. */
export function kindOfContentType(value: string): BodyKind | undefined {
  const verdict = classifyContentType([value]);
  return verdict.status === 'one' ? verdict.kind : undefined;
}

/**
 * What a body without a declared type looks like, by its first character that is not whitespace (or a
 * byte order mark): `{` or `[` JSON, `<` XML, anything else (or nothing) other.
 */
export function sniffBodyKind(text: string): BodyKind {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d || c === 0xfeff) continue;
    if (c === 0x7b || c === 0x5b) return 'json';
    if (c === 0x3c) return 'xml';
    return 'other';
  }
  return 'other';
}
