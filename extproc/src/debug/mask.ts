// Masking and bounding a captured transaction (docs/operations.md#debug-sessions), before it is queued:
// nothing unmasked ever leaves extproc or waits in memory for the reporter. Apigee's debug mask
// (<Mask>: JSONPaths and XPaths on request, response and fault bodies, variable names) plus header
// names; and, whatever the mask says, the credentials: Authorization, Proxy-Authorization, Cookie and
// Set-Cookie headers, credential parameters of query strings and form bodies, token fields of JSON
// bodies, private.* variables, and every value the transaction presented or was issued as a credential
// (recorder.ts) or that the snapshot holds as a secret, wherever it appears. Masked values read
// "********", as in Apigee. A mask rule that does not compile masks the whole body it was for (fail
// closed). Bodies are cut (body_truncated) until the serialized transaction fits max_transaction_bytes.
import { isUtf8 } from 'node:buffer';
import protobuf from 'protobufjs';
import type { DebugMask__Output } from '../../../protos/gen/gatehouse/v1/DebugMask.ts';
import type { DebugMessage } from '../../../protos/gen/gatehouse/v1/DebugMessage.ts';
import type { DebugPoint } from '../../../protos/gen/gatehouse/v1/DebugPoint.ts';
import type { DebugTransaction } from '../../../protos/gen/gatehouse/v1/DebugTransaction.ts';
import type { DebugVariable } from '../../../protos/gen/gatehouse/v1/DebugVariable.ts';
import { jsonDepth, MAX_JSON_DEPTH } from '../flow/message.ts';
import { compileJsonPath, type CompiledJsonPath } from '../policies/json-path.ts';
import { compileXPath, parseXmlDocument, XmlNode, type CompiledXPath } from '../policies/xml.ts';
import { isSensitiveName, SENSITIVE_NAMES, type MessageState, type RawPoint, type RawVariable } from './recorder.ts';

export const MASK = '********';

/** Headers masked in every capture (request and response), whatever the session's mask says. */
export const ALWAYS_MASKED_HEADERS: ReadonlySet<string> = new Set([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/** JSON members masked in every body: what a token endpoint answers and a login form posts as JSON. */
const ALWAYS_MASKED_JSON = new Set([
  'access_token',
  'refresh_token',
  'id_token',
  'client_secret',
  'password',
  'assertion',
  'client_assertion',
  'apikey',
  'api_key',
]);

/** A value shorter than this is masked where it is a whole value, not searched for inside text. */
const MIN_SEARCHED_LENGTH = 6;

/** When the session gives no bound (0): what one transaction may take serialized. */
export const DEFAULT_MAX_TRANSACTION_BYTES = 512 * 1024;
/** gRPC's default receive limit is 4 MiB: a transaction stays well below it, whatever the session says. */
export const MAX_TRANSACTION_BYTES = 3 * 1024 * 1024;

export interface RawTransaction {
  requestId: string;
  traceId: string;
  startedAtMs: number;
  durationUs: number;
  proxy: string;
  status: number;
  faultName: string;
  points: RawPoint[];
}

export interface MaskInput {
  mask: DebugMask__Output | null | undefined;
  /** Values masked wherever they appear (the transaction's credentials, the snapshot's secrets). */
  credentials: Iterable<string>;
  /** Query/form parameter and header names a credential policy read (lower case). */
  credentialParams: ReadonlySet<string>;
  credentialHeaders: ReadonlySet<string>;
}

interface CompiledMask {
  json: Record<Side, CompiledJsonPath[] | 'invalid'>;
  xml: Record<Side, CompiledXPath[] | 'invalid'>;
  variables: ReadonlySet<string>;
  headers: ReadonlySet<string>;
}

type Side = 'request' | 'response' | 'fault';

const compiledMasks = new WeakMap<object, CompiledMask>();
const NO_MASK: CompiledMask = {
  json: { request: [], response: [], fault: [] },
  xml: { request: [], response: [], fault: [] },
  variables: new Set(),
  headers: new Set(),
};

function compileAll<T>(list: readonly string[], compile: (s: string) => T): T[] | 'invalid' {
  try {
    return list.map(compile);
  } catch {
    return 'invalid';
  }
}

/** The session's mask compiled once (per snapshot's DebugMask object). */
function compiledMask(mask: DebugMask__Output | null | undefined): CompiledMask {
  if (!mask) return NO_MASK;
  let compiled = compiledMasks.get(mask);
  if (compiled) return compiled;
  const ns = mask.namespaces ?? {};
  compiled = {
    json: {
      request: compileAll(mask.jsonPathsRequest ?? [], compileJsonPath),
      response: compileAll(mask.jsonPathsResponse ?? [], compileJsonPath),
      fault: compileAll(mask.jsonPathsFault ?? [], compileJsonPath),
    },
    xml: {
      request: compileAll(mask.xpathsRequest ?? [], (x) => compileXPath(x, ns)),
      response: compileAll(mask.xpathsResponse ?? [], (x) => compileXPath(x, ns)),
      fault: compileAll(mask.xpathsFault ?? [], (x) => compileXPath(x, ns)),
    },
    variables: new Set(mask.variables ?? []),
    headers: new Set((mask.headers ?? []).map((h) => h.toLowerCase())),
  };
  compiledMasks.set(mask, compiled);
  return compiled;
}

/** Replaces every credential inside text: the longest first, raw and URL-encoded. */
class CredentialScrubber {
  private readonly exact: ReadonlySet<string>;
  private readonly searched: string[];

  constructor(values: Iterable<string>) {
    const exact = new Set<string>();
    const searched = new Set<string>();
    for (const value of values) {
      if (value === '') continue;
      exact.add(value);
      if (value.length < MIN_SEARCHED_LENGTH) continue;
      searched.add(value);
      const encoded = encodeURIComponent(value);
      if (encoded !== value) searched.add(encoded);
      const form = encoded.replaceAll('%20', '+');
      if (form !== encoded) searched.add(form);
    }
    this.exact = exact;
    this.searched = [...searched].sort((a, b) => b.length - a.length);
  }

  scrub(text: string): string {
    if (this.exact.has(text)) return MASK;
    let out = text;
    for (const value of this.searched) if (out.includes(value)) out = out.split(value).join(MASK);
    return out;
  }
}

/** Credentials in the request's Authorization header: the whole value, its token, a Basic pair's parts. */
export function authorizationCredentials(value: string): string[] {
  const out = [value];
  const space = value.indexOf(' ');
  if (space < 0) return out;
  const token = value.slice(space + 1).trim();
  out.push(token);
  if (value.slice(0, space).toLowerCase() === 'basic') {
    const decoded = Buffer.from(token, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon >= 0) out.push(decoded, decoded.slice(colon + 1), decoded.slice(0, colon));
  }
  return out.filter((v) => v !== '');
}

/** A JSON scalar, boxed so that a selected scalar is known by identity (no enumerable members). */
class Box {
  readonly #value: unknown;
  #masked = false;
  constructor(value: unknown) {
    this.#value = value;
  }
  mask(): void {
    this.#masked = true;
  }
  toJSON(): unknown {
    return this.#masked ? MASK : this.#value;
  }
}

/** Marks a selected value: a scalar's box, or an object or array that is then written as a whole "********". */
function maskValue(node: unknown, containers: Set<object>): void {
  if (node instanceof Box) node.mask();
  else if (node !== null && typeof node === 'object') containers.add(node);
}

function maskJson(text: string, paths: CompiledJsonPath[]): string | undefined {
  if (jsonDepth(text, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) return undefined;
  let root: unknown;
  try {
    root = JSON.parse(text, (key, value: unknown) => {
      if (value !== null && typeof value === 'object') return value;
      return new Box(value);
    });
  } catch {
    return undefined;
  }
  const containers = new Set<object>();
  for (const path of paths) for (const selected of path.values(root)) maskValue(selected, containers);
  const stack: unknown[] = [root];
  while (stack.length > 0) {
    const n = stack.pop();
    if (n === null || typeof n !== 'object' || n instanceof Box) continue;
    for (const [key, value] of Object.entries(n)) {
      if (ALWAYS_MASKED_JSON.has(key.toLowerCase())) maskValue(value, containers);
      else stack.push(value);
    }
  }
  // A replacer sees an object or array itself (it has no toJSON), so a masked one is known by identity.
  return JSON.stringify(root, (_key, value: unknown) =>
    value !== null && typeof value === 'object' && containers.has(value) ? MASK : value,
  );
}

function xmlEscape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;');
}

/** The texts the XPaths select (text nodes under a selected element; attribute values), masked in the text. */
function maskXml(text: string, paths: CompiledXPath[]): string | undefined {
  if (paths.length === 0) return text;
  let doc;
  try {
    doc = parseXmlDocument(text);
  } catch {
    return undefined;
  }
  const values = new Set<string>();
  for (const path of paths) {
    let selection;
    try {
      selection = path.select(doc);
    } catch {
      return undefined;
    }
    if ('scalar' in selection) {
      if (selection.scalar !== '') values.add(selection.scalar);
      continue;
    }
    const stack = [...selection.nodes];
    while (stack.length > 0) {
      const node = stack.pop();
      if (!(node instanceof XmlNode)) continue;
      if (node.nodeType === 2) values.add(node.value ?? '');
      else if (node.nodeType === 3 || node.nodeType === 4) values.add(node.data ?? '');
      else stack.push(...node.childNodes);
    }
  }
  let out = text;
  for (const value of [...values].filter((v) => v.trim() !== '').sort((a, b) => b.length - a.length)) {
    for (const form of new Set([value, xmlEscape(value), xmlEscape(value).replaceAll('"', '&quot;')]))
      out = out.split(form).join(MASK);
  }
  return out;
}

function maskParams(query: string, names: (name: string) => boolean): string {
  return query
    .split('&')
    .map((pair) => {
      const eq = pair.indexOf('=');
      if (eq < 0) return pair;
      let name: string;
      try {
        name = decodeURIComponent(pair.slice(0, eq).replaceAll('+', ' '));
      } catch {
        name = pair.slice(0, eq);
      }
      return names(name.toLowerCase()) ? `${pair.slice(0, eq)}=${MASK}` : pair;
    })
    .join('&');
}

function contentType(headers: Array<[string, string]>): string {
  return (headers.find(([n]) => n === 'content-type')?.[1] ?? '').toLowerCase();
}

export class TransactionMasker {
  private readonly mask: CompiledMask;
  private readonly scrubber: CredentialScrubber;
  private readonly input: MaskInput;
  private readonly faulted: boolean;

  constructor(input: MaskInput, faulted: boolean) {
    this.input = input;
    this.mask = compiledMask(input.mask);
    this.scrubber = new CredentialScrubber(input.credentials);
    this.faulted = faulted;
  }

  private headerMasked(name: string): boolean {
    const n = name.toLowerCase();
    return ALWAYS_MASKED_HEADERS.has(n) || this.mask.headers.has(n) || this.input.credentialHeaders.has(n);
  }

  private paramMasked = (name: string): boolean => SENSITIVE_NAMES.has(name) || this.input.credentialParams.has(name);

  /** Apigee hides `private.*` variables (they do not appear at all); the others are masked by name or value. */
  variables(list: RawVariable[]): DebugVariable[] {
    return list.filter((v) => !v.name.startsWith('private.')).map((v) => this.variable(v));
  }

  variable(v: RawVariable): DebugVariable {
    return { name: v.name, value: this.variableMasked(v.name) ? MASK : this.scrubber.scrub(v.value) };
  }

  private variableMasked(name: string): boolean {
    if (this.mask.variables.has(name) || name.startsWith('private.') || isSensitiveName(name)) return true;
    const header = /^(?:request|response)\.header\.([^.]+)/.exec(name);
    if (header && this.headerMasked(header[1]!)) return true;
    const param = /^request\.(?:queryparam|formparam)\.(.+)$/.exec(name);
    return !!param && this.paramMasked(param[1]!.toLowerCase());
  }

  message(state: MessageState, side: 'request' | 'response'): DebugMessage {
    const headers = state.headers.map(([name, value]) => ({
      name,
      value: this.headerMasked(name) ? MASK : this.scrubber.scrub(value),
    }));
    let path = state.path;
    const q = path.indexOf('?');
    if (q >= 0) path = `${path.slice(0, q)}?${maskParams(path.slice(q + 1), this.paramMasked)}`;
    path = this.scrubber.scrub(path);
    return {
      method: state.method,
      path,
      status: state.status,
      headers,
      ...this.body(state, side),
    };
  }

  private body(state: MessageState, side: 'request' | 'response'): { body: string; bodyBase64: boolean } {
    if (state.body.length === 0) return { body: '', bodyBase64: false };
    // Not text: shown as base64, unsearchable, so only a mask-free session shows it (fail closed).
    if (!isUtf8(state.body)) return { body: state.body.toString('base64'), bodyBase64: true };
    let text = state.body.toString('utf8');
    const type = contentType(state.headers);
    const sides: Side[] = side === 'request' ? ['request'] : this.faulted ? ['response', 'fault'] : ['response'];
    const jsonRules = sides.map((s) => this.mask.json[s]);
    const xmlRules = sides.map((s) => this.mask.xml[s]);
    const json = jsonRules.flatMap((r) => (r === 'invalid' ? [] : r));
    const xml = xmlRules.flatMap((r) => (r === 'invalid' ? [] : r));
    // A rule that does not compile was meant for some body of this side: that body is masked whole.
    const jsonInvalid = jsonRules.includes('invalid');
    const xmlInvalid = xmlRules.includes('invalid');
    const trimmed = text.trimStart();
    if (type.includes('json') || trimmed.startsWith('{') || trimmed.startsWith('[')) {
      const masked = jsonInvalid ? undefined : maskJson(text, json);
      if (masked === undefined) {
        // Not JSON after all (only the scrub below), unless a rule was meant for it.
        if (json.length > 0 || jsonInvalid) return { body: MASK, bodyBase64: false };
      } else text = masked;
    } else if (type.includes('xml') || trimmed.startsWith('<')) {
      const masked = xmlInvalid ? undefined : maskXml(text, xml);
      if (masked === undefined) {
        if (xml.length > 0 || xmlInvalid) return { body: MASK, bodyBase64: false };
      } else text = masked;
    } else if (type.includes('x-www-form-urlencoded')) {
      text = maskParams(text, this.paramMasked);
    }
    return { body: this.scrubber.scrub(text), bodyBase64: false };
  }
}

const PHASE_SIDE: Record<RawPoint['phase'], 'request' | 'response'> = {
  ProxyRequest: 'request',
  TargetRequest: 'request',
  TargetResponse: 'response',
  ProxyResponse: 'response',
  PostClientFlow: 'response',
  Fault: 'response',
};

/** The transaction as it leaves extproc: masked, then cut to `maxBytes` serialized. */
export function maskTransaction(raw: RawTransaction, input: MaskInput, maxBytes: number): DebugTransaction {
  const masker = new TransactionMasker(input, raw.faultName !== '');
  const points: DebugPoint[] = raw.points.map((p) => {
    const side = p.kind === 'ResponseSent' ? 'response' : PHASE_SIDE[p.phase];
    return {
      kind: p.kind,
      phase: p.phase,
      flow: p.flow,
      policy: p.policy,
      policyType: p.policyType,
      outcome: p.outcome,
      faultCode: p.faultCode,
      condition: p.condition,
      conditionResult: p.conditionResult,
      elapsedUs: p.elapsedUs,
      durationUs: p.durationUs,
      variablesRead: masker.variables(p.variablesRead),
      variablesSet: masker.variables(p.variablesSet),
      variablesRemoved: masker.variables(p.variablesRemoved),
      ...(p.messageBefore ? { messageBefore: masker.message(p.messageBefore, side) } : {}),
      ...(p.messageAfter ? { messageAfter: masker.message(p.messageAfter, side) } : {}),
    };
  });
  const tx: DebugTransaction = {
    requestId: raw.requestId,
    traceId: raw.traceId,
    startedAtMs: raw.startedAtMs,
    durationUs: raw.durationUs,
    points,
    truncated: false,
    proxy: raw.proxy,
    status: raw.status,
    faultName: raw.faultName,
  };
  fitTransaction(tx, maxBytes);
  return tx;
}

let transactionType: protobuf.Type | undefined;

/** The transaction's size as protobuf sends it. */
export function serializedSize(tx: DebugTransaction): number {
  transactionType ??= protobuf
    .loadSync(new URL('../../../protos/gatehouse/v1/debug.proto', import.meta.url).pathname)
    .lookupType('gatehouse.v1.DebugTransaction');
  return transactionType.encode(transactionType.fromObject(tx)).finish().length;
}

/** Cuts bodies (the largest the most), then points from the end, until `tx` fits. */
export function fitTransaction(tx: DebugTransaction, maxBytesGiven: number): void {
  const maxBytes = Math.min(maxBytesGiven > 0 ? maxBytesGiven : DEFAULT_MAX_TRANSACTION_BYTES, MAX_TRANSACTION_BYTES);
  let size = serializedSize(tx);
  if (size <= maxBytes) return;
  tx.truncated = true;
  const messages = (tx.points ?? [])
    .flatMap((p) => [p.messageBefore, p.messageAfter])
    .filter((m): m is DebugMessage => !!m && (m.body ?? '') !== '');
  for (let round = 0; round < 4 && size > maxBytes && messages.length > 0; round++) {
    const bodies = messages.reduce((sum, m) => sum + Buffer.byteLength(m.body ?? ''), 0);
    let allowance = Math.max(0, bodies - (size - maxBytes) - 64 * messages.length);
    const sorted = [...messages].sort((a, b) => Buffer.byteLength(a.body ?? '') - Buffer.byteLength(b.body ?? ''));
    for (const [i, m] of sorted.entries()) {
      const cap = Math.floor(allowance / (sorted.length - i));
      const length = Buffer.byteLength(m.body ?? '');
      if (length > cap) cutBody(m, cap);
      allowance -= Math.min(length, cap);
    }
    size = serializedSize(tx);
  }
  const points = tx.points ?? [];
  while (size > maxBytes && points.length > 0) {
    // Keep the first point and the last (the response sent) as long as possible; drop as many at once
    // as the excess over the average point's size says (each pass serializes the whole transaction).
    const excess = Math.ceil((size - maxBytes) / Math.max(1, size / points.length));
    if (points.length > 2) points.splice(Math.max(1, points.length - 1 - excess), Math.min(excess, points.length - 2));
    else points.splice(0, 1);
    size = serializedSize(tx);
  }
}

function cutBody(m: DebugMessage, cap: number): void {
  const body = m.body ?? '';
  m.bodyTruncated = true;
  if (m.bodyBase64) {
    m.body = body.slice(0, Math.max(0, cap - (cap % 4)));
    return;
  }
  // Cut on a character boundary: a partial UTF-8 sequence at the end is dropped.
  const cut = Buffer.from(body, 'utf8').subarray(0, Math.max(0, cap)).toString('utf8');
  m.body = cut.endsWith('\uFFFD') ? cut.slice(0, -1) : cut;
}
