// How Envoy's ext_proc filter applies a HeaderMutation (MutationUtils::applyHeaderMutations,
// source/extensions/filters/http/ext_proc/mutation_utils.cc, as of v1.36): count limits first, then
// every remove, then every set in order; only the deprecated `append` flag is read (unset means
// overwrite; `append_action` and `keep_empty_value` are ignored) and only `raw_value` (a `value` alone
// sets an empty header, both set is an error); each entry goes through the mutation rules' Checker.
// An error stops the mutation where it is: what was applied stays applied.
import type { HeaderMutation__Output } from '../../../protos/gen/envoy/envoy/service/ext_proc/v3/HeaderMutation.ts';
import type { HeaderList } from '../http/message.ts';
import { HeaderMutationRejectedError, InvalidHeaderMutationError, type ExtProcError } from './errors.ts';
import { headerValueIsValid, type Checker } from './mutation-rules.ts';

/** A header map's limits: HCM max_request_headers_kb (60) and common_http_protocol_options.max_headers_count (100). */
export interface HeaderLimits {
  maxHeadersKb: number;
  maxHeadersCount: number;
}

export const defaultHeaderLimits: HeaderLimits = { maxHeadersKb: 60, maxHeadersCount: 100 };

/** A mutation Envoy skipped and counted in rejected_header_mutations. */
export interface MutationViolation {
  header: string;
  reason: string;
}

export interface ApplyOptions {
  checker: Checker;
  /** The reply is a headers response with CONTINUE_AND_REPLACE: a set of :method is always allowed. */
  replacing?: boolean;
  /** ProcessorState::shouldRemoveContentLength: sets of content-length are skipped. */
  removeContentLength?: boolean;
  limits?: HeaderLimits;
  /** Receives every entry the rules refused (rejected_header_mutations). */
  rejected: MutationViolation[];
  /**
   * The map is a request header map: there `host` is the legacy name of `:authority` (HeaderMapImpl's
   * StaticLookupTable<RequestHeaderMap> maps it), so a set of `host` changes the authority the
   * upstream gets. The rules still check the name as sent (`host`).
   */
  requestHeaders?: boolean;
}

export interface ApplyResult {
  headers: HeaderList;
  /** Why the mutation failed (Envoy answers status_on_error); the entries before it stay applied. */
  error?: ExtProcError;
}

/** HeaderUtility::headerNameIsValid: a token, or for pseudo-headers `:` and a lower-case token (nghttp2). */
export function headerNameIsValid(name: string): boolean {
  return name.startsWith(':') ? /^:[!#$%&'*+\-.^_`|~0-9a-z]+$/.test(name) : /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(name);
}

/** The entry a name addresses: in a request header map `host` is `:authority`. */
const mapKey = (name: string, o: ApplyOptions) => (o.requestHeaders && name === 'host' ? ':authority' : name);

const byteSize = (headers: HeaderList) => headers.reduce((n, [k, v]) => n + k.length + v.length, 0);

/**
 * Applies `mutation` to `headers`, which hold the pseudo-headers (`:method`, `:path`, `:scheme`,
 * `:authority` or `:status`) as entries like any other, as Envoy's header maps do.
 */
export function applyHeaderMutations(
  headers: HeaderList,
  mutation: HeaderMutation__Output | null | undefined,
  o: ApplyOptions,
): ApplyResult {
  if (!mutation) return { headers };
  const limits = o.limits ?? defaultHeaderLimits;
  let out = headers;
  // responseHeaderSizeCheck
  if (mutation.removeHeaders.length > limits.maxHeadersCount || mutation.setHeaders.length > limits.maxHeadersCount) {
    return {
      headers,
      error: new InvalidHeaderMutationError(
        `Header mutation remove header count ${mutation.removeHeaders.length} or set header count ${mutation.setHeaders.length} exceed the HCM header count limit ${limits.maxHeadersCount}`,
      ),
    };
  }
  for (const raw of mutation.removeHeaders) {
    if (!headerNameIsValid(raw))
      return { headers: out, error: new InvalidHeaderMutationError('Invalid character in remove_headers mutation.') };
    const name = raw.toLowerCase();
    const verdict = o.checker.check('REMOVE', name, '');
    if (verdict === 'OK') {
      const key = mapKey(name, o);
      out = out.filter(([n]) => n !== key);
      continue;
    }
    o.rejected.push({ header: name, reason: 'remove refused by the mutation rules' });
    if (verdict === 'FAIL')
      return { headers: out, error: new HeaderMutationRejectedError(`Invalid attempt to remove ${name}`) };
  }
  for (const option of mutation.setHeaders) {
    const h = option.header;
    if (!h) continue;
    if (h.value !== '' && h.rawValue.length > 0) {
      return {
        headers: out,
        error: new InvalidHeaderMutationError(
          'Only one of value or raw_value in the HeaderValue message should be set.',
        ),
      };
    }
    const value = h.rawValue.toString('latin1'); // `value` is never read (send_header_raw_value)
    if (!headerNameIsValid(h.key) || !headerValueIsValid(value)) {
      return { headers: out, error: new InvalidHeaderMutationError('Invalid character in set_headers mutation.') };
    }
    const name = h.key.toLowerCase();
    if (o.removeContentLength && name === 'content-length') continue;
    const append = option.append?.value ?? false;
    const key = mapKey(name, o);
    const op = append && out.some(([n]) => n === key) ? 'APPEND' : 'SET';
    let verdict = o.checker.check(op, name, value);
    if (o.replacing && name === ':method') verdict = 'OK';
    if (verdict === 'OK') {
      out = append ? [...out, [key, value]] : [...out.filter(([n]) => n !== key), [key, value]];
      continue;
    }
    o.rejected.push({ header: name, reason: `${op.toLowerCase()} refused by the mutation rules` });
    if (verdict === 'FAIL')
      return { headers: out, error: new HeaderMutationRejectedError(`Invalid attempt to modify ${name}`) };
  }
  // headerMutationResultCheck
  if (byteSize(out) > limits.maxHeadersKb * 1024 || out.length > limits.maxHeadersCount) {
    return {
      headers: out,
      error: new InvalidHeaderMutationError(
        `Header mutation causes end result header count ${out.length} or size ${byteSize(out)} exceeding the limits`,
      ),
    };
  }
  return { headers: out };
}
