// An access log's json_format (SubstitutionFormatString), parsed once from the compiled config and
// evaluated per request against a StreamInfo, as Envoy's JSON formatter does
// (source/common/formatter/substitution_formatter.cc, http_specific_formatter.cc,
// stream_info_formatter.cc): a value that is one command operator keeps its type (numbers stay
// numbers, a missing value is null, or the key is left out with omit_empty_values); a value mixing
// text and operators is a string with "-" for a missing part. Only the operators below are played: any
// other is a config error (NACK), never a silently empty field.
import { ConfigRejectedError } from '../errors.ts';
import { header } from '../http/message.ts';
import { responseFlags, type StreamInfo } from './stream-info.ts';

type Value = string | number | boolean | null | Value[] | { [key: string]: Value };
type Provider = (info: StreamInfo) => Value;
type Part = string | { provider: Provider };
type Node = { parts: Part[] } | { map: Array<[string, Node]> } | { list: Node[] };

export interface JsonAccessLogFormat {
  root: Array<[string, Node]>;
  omitEmptyValues: boolean;
}

const truncate = (v: string, max: number | undefined) => (max === undefined ? v : v.slice(0, max));

/** The request header map as Envoy holds it: pseudo-headers among the headers. */
function requestHeader(info: StreamInfo, name: string): string | undefined {
  const r = info.request;
  switch (name) {
    case ':method':
      return r.method;
    case ':path':
      return r.path;
    case ':authority':
    case 'host':
      return r.authority;
    case ':scheme':
      return r.scheme;
    default:
      return header(r.headers, name);
  }
}

/** SubstitutionFormatUtils::parseSubcommandHeaders: "main?alternative". */
function headerNames(args: string, token: string): [string, string | undefined] {
  const names = args.split('?').map((n) => n.toLowerCase());
  if (names.length > 2 || !names[0]) throw new ConfigRejectedError(`access_log: bad header names in ${token}`);
  return [names[0], names[1]];
}

function durationSince(from: number, to: number | undefined): Value {
  return to === undefined ? null : Math.floor(to - from);
}

/** Each operator: its parser from (arguments, max length) to a provider; PARAMS rules as Envoy's CommandSyntaxChecker. */
const operators: Record<string, (args: string | undefined, max: number | undefined, token: string) => Provider> = {
  START_TIME: (args, _max, token) => {
    if (args) throw new ConfigRejectedError(`access_log: devproxy plays ${token} only without a format`);
    // Envoy's default: %Y-%m-%dT%H:%M:%E3SZ, UTC.
    return (i) => i.startTime.toISOString();
  },
  REQ: (args, max, token) => {
    if (!args) throw new ConfigRejectedError(`access_log: ${token} needs a header name`);
    const [main, alt] = headerNames(args, token);
    return (i) => {
      const v = requestHeader(i, main) ?? (alt ? requestHeader(i, alt) : undefined);
      return v === undefined ? null : truncate(v, max);
    };
  },
  RESP: (args, max, token) => {
    if (!args) throw new ConfigRejectedError(`access_log: ${token} needs a header name`);
    const [main, alt] = headerNames(args, token);
    return (i) => {
      const headers = i.response?.headers ?? [];
      const v = header(headers, main) ?? (alt ? header(headers, alt) : undefined);
      return v === undefined ? null : truncate(v, max);
    };
  },
  // PathFormatter: [WQ|NQ][:ORIG|PATH|ORIG_OR_PATH], defaults WQ and ORIG_OR_PATH.
  PATH: (args, max, token) => {
    const [query = '', option = ''] = (args ?? '').split(':');
    if (query !== '' && query !== 'WQ' && query !== 'NQ')
      throw new ConfigRejectedError(`access_log: ${token}: only WQ/NQ are allowed`);
    if (option !== '' && option !== 'ORIG' && option !== 'PATH' && option !== 'ORIG_OR_PATH')
      throw new ConfigRejectedError(`access_log: ${token}: only ORIG/PATH/ORIG_OR_PATH are allowed`);
    const withQuery = query !== 'NQ';
    return (i) => {
      const original = header(i.request.headers, 'x-envoy-original-path') ?? '';
      let path = option === 'PATH' ? i.request.path : option === 'ORIG' ? original : original || i.request.path;
      if (path === '') return null;
      if (!withQuery) {
        const q = path.indexOf('?');
        if (q >= 0) path = path.slice(0, q);
      }
      return truncate(path, max);
    };
  },
  PROTOCOL: () => (i) => i.request.protocol ?? null,
  RESPONSE_CODE: () => (i) => i.response?.status ?? 0,
  RESPONSE_FLAGS: () => (i) => responseFlags(i.response?.localReply?.details),
  // A proxied response's details are "via_upstream" (Router::onUpstreamHeaders).
  RESPONSE_CODE_DETAILS: () => (i) => (i.response ? (i.response.localReply?.details ?? 'via_upstream') : null),
  DURATION: () => (i) => durationSince(i.startMs, i.endMs),
  RESPONSE_DURATION: () => (i) => durationSince(i.startMs, i.upstreamResponseMs),
  BYTES_RECEIVED: () => (i) => i.bytesReceived,
  BYTES_SENT: () => (i) => i.bytesSent,
  UPSTREAM_HOST: () => (i) => i.upstreamHost ?? null,
  ROUTE_NAME: () => (i) => i.routeName || null,
  // The active span's trace id, when the HCM traces.
  TRACE_ID: () => (i) => i.span?.traceId ?? null,
  // DYNAMIC_METADATA(NAMESPACE:KEY:...):Z
  DYNAMIC_METADATA: (args, max, token) => {
    const path = (args ?? '').split(':');
    const namespace = path.shift();
    if (!namespace) throw new ConfigRejectedError(`access_log: ${token} needs a namespace`);
    return (i) => {
      let v: unknown = i.dynamicMetadata.get(namespace);
      for (const key of path) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
      if (v === undefined) return null;
      return typeof v === 'string' ? truncate(v, max) : (v as Value);
    };
  },
};

/** SubstitutionFormatParser::parse: literal text and %COMMAND(args):LEN% tokens. */
export function parseFormatString(text: string): Part[] {
  const parts: Part[] = [];
  let at = 0;
  while (at < text.length) {
    const open = text.indexOf('%', at);
    if (open < 0) {
      parts.push(text.slice(at));
      break;
    }
    if (open > at) parts.push(text.slice(at, open));
    const close = text.indexOf('%', open + 1);
    if (close < 0) throw new ConfigRejectedError(`access_log: unterminated command in ${JSON.stringify(text)}`);
    const token = text.slice(open, close + 1);
    const m = /^%([A-Z][A-Z0-9_]*)(?:\(([^)]*)\))?(?::(\d+))?%$/.exec(token);
    if (!m) throw new ConfigRejectedError(`access_log: not a command operator: ${JSON.stringify(token)}`);
    const [, name, args, max] = m;
    const parse = operators[name!];
    if (!parse) throw new ConfigRejectedError(`access_log: devproxy does not play the command operator ${token}`);
    parts.push({ provider: parse(args, max === undefined ? undefined : Number(max), token) });
    at = close + 1;
  }
  return parts;
}

/**
 * A decoded google.protobuf.Value of a json_format: strings, structs and lists only. protobufjs
 * defines the well-known types itself, with lowerCamelCase field names whatever keepCase says.
 */
function nodeOf(v: Record<string, unknown>, where: string): Node {
  if (v.kind === 'stringValue') return { parts: parseFormatString(String(v.stringValue)) };
  if (v.kind === 'structValue') return { map: mapOf(v.structValue as Record<string, unknown>, where) };
  if (v.kind === 'listValue')
    return {
      list: (((v.listValue as { values?: unknown[] }).values ?? []) as Array<Record<string, unknown>>).map((x) =>
        nodeOf(x, where),
      ),
    };
  // FormatBuilder::toFormatMapValue
  throw new ConfigRejectedError(
    `${where}: only string values, nested structs and list values are supported in structured access log format`,
  );
}

function mapOf(struct: Record<string, unknown> | undefined, where: string): Array<[string, Node]> {
  const fields = (struct?.fields ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(fields).map(([k, v]) => [k, nodeOf(v, `${where}.${k}`)]);
}

/** A decoded json_format Struct into a formatter. */
export function parseJsonFormat(
  struct: Record<string, unknown>,
  omitEmptyValues: boolean,
  where: string,
): JsonAccessLogFormat {
  return { root: mapOf(struct, where), omitEmptyValues };
}

function evaluate(node: Node, info: StreamInfo, omit: boolean): Value {
  if ('parts' in node) {
    const [only] = node.parts;
    if (node.parts.length === 1 && typeof only === 'object') return only.provider(info);
    // Several parts: a string, "-" (or "" with omit_empty_values) for a missing value.
    let out = '';
    for (const p of node.parts) {
      if (typeof p === 'string') out += p;
      else {
        const v = p.provider(info);
        out += v === null ? (omit ? '' : '-') : typeof v === 'string' ? v : JSON.stringify(v);
      }
    }
    return out;
  }
  if ('list' in node) {
    const values = node.list.map((n) => evaluate(n, info, omit));
    return omit ? values.filter((v) => v !== null) : values;
  }
  return evaluateMap(node.map, info, omit);
}

function evaluateMap(map: Array<[string, Node]>, info: StreamInfo, omit: boolean): { [key: string]: Value } {
  const out: { [key: string]: Value } = {};
  for (const [key, node] of map) {
    const v = evaluate(node, info, omit);
    if (omit && v === null) continue;
    out[key] = v;
  }
  return out;
}

/**
 * One access log line: JSON on one line (control characters, a newline in a header value included,
 * are escaped by the serializer), ending in a newline, as JsonFormatterImpl writes it.
 */
export function formatLine(format: JsonAccessLogFormat, info: StreamInfo): string {
  return `${JSON.stringify(evaluateMap(format.root, info, format.omitEmptyValues))}\n`;
}
