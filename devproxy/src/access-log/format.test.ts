// The access log formatter against Envoy's JSON formatter rules (substitution_formatter.cc,
// http_specific_formatter.cc PathFormatter, stream_info_formatter.cc): typed single operators, null
// for what is missing (or the key left out with omit_empty_values), "-" inside mixed strings, and an
// operator devproxy does not play refused rather than logged empty. Hostile request values stay inside
// one valid JSON line.
import { describe, expect, it } from 'vitest';
import { ConfigRejectedError } from '../errors.ts';
import type { HttpRequest } from '../http/message.ts';
import { formatLine, parseFormatString, parseJsonFormat, type JsonAccessLogFormat } from './format.ts';
import { newStreamInfo, type StreamInfo } from './stream-info.ts';

/** A json_format as protobufjs decodes it (google.protobuf.Struct with lowerCamelCase names). */
function struct(fields: Record<string, unknown>): Record<string, unknown> {
  const value = (v: unknown): Record<string, unknown> =>
    typeof v === 'string'
      ? { kind: 'stringValue', stringValue: v }
      : Array.isArray(v)
        ? { kind: 'listValue', listValue: { values: v.map(value) } }
        : { kind: 'structValue', structValue: struct(v as Record<string, unknown>) };
  return { fields: Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, value(v)])) };
}

function format(fields: Record<string, unknown>, omitEmptyValues = false): JsonAccessLogFormat {
  return parseJsonFormat(struct(fields), omitEmptyValues, 'test');
}

const request = (over: Partial<HttpRequest> = {}): HttpRequest => ({
  method: 'GET',
  path: '/orders/v1/items?apikey=SECRET-KEY',
  authority: 'shop.example.com',
  scheme: 'http',
  protocol: 'HTTP/1.1',
  headers: [['x-request-id', '6f1c4d0e-1111-4222-8333-444455556666']],
  ...over,
});

function finished(req: HttpRequest, status = 200): StreamInfo {
  const info = newStreamInfo(req);
  info.response = { status, headers: [['content-type', 'text/plain']], body: Buffer.from('hello') };
  info.bytesSent = 5;
  info.endMs = info.startMs + 12.7;
  return info;
}

describe('JsonFormatterImpl: typed values', () => {
  it('one operator keeps its type; missing is null; several parts make a string with "-"', () => {
    const f = format({
      status: '%RESPONSE_CODE%',
      duration: '%DURATION%',
      request_id: '%REQ(X-REQUEST-ID)%',
      missing: '%REQ(X-NOPE)%',
      upstream: '%UPSTREAM_HOST%',
      line: '%REQ(:METHOD)% %REQ(X-NOPE)% %RESPONSE_CODE%',
      nested: { proxy: '%DYNAMIC_METADATA(gatehouse:proxy)%' },
      trace: '%TRACE_ID%',
    });
    const info = finished(request());
    info.dynamicMetadata.set('gatehouse', { proxy: 'shop/orders' });
    expect(JSON.parse(formatLine(f, info))).toEqual({
      status: 200,
      duration: 12,
      request_id: '6f1c4d0e-1111-4222-8333-444455556666',
      missing: null,
      upstream: null,
      line: 'GET - 200',
      nested: { proxy: 'shop/orders' },
      trace: null,
    });
  });

  it('omit_empty_values leaves keys with null out', () => {
    const f = format(
      { status: '%RESPONSE_CODE%', missing: '%REQ(X-NOPE)%', app: '%DYNAMIC_METADATA(gatehouse:app)%' },
      true,
    );
    expect(JSON.parse(formatLine(f, finished(request())))).toEqual({ status: 200 });
  });

  it('DYNAMIC_METADATA walks keys, truncates strings to :Z, and is null for a namespace never set', () => {
    const f = format({
      code: '%DYNAMIC_METADATA(gatehouse:fault_code):5%',
      whole: '%DYNAMIC_METADATA(gatehouse)%',
      other: '%DYNAMIC_METADATA(other:proxy)%',
    });
    const info = finished(request());
    info.dynamicMetadata.set('gatehouse', { fault_code: 'oauth.v2.InvalidApiKey' });
    expect(JSON.parse(formatLine(f, info))).toEqual({
      code: 'oauth',
      whole: { fault_code: 'oauth.v2.InvalidApiKey' },
      other: null,
    });
  });
});

describe('PathFormatter', () => {
  it('NQ drops the query (API keys in query strings); ORIG_OR_PATH prefers x-envoy-original-path', () => {
    const f = format({
      nq: '%PATH(NQ:ORIG_OR_PATH)%',
      wq: '%PATH(WQ:PATH)%',
      orig: '%PATH(NQ:ORIG)%',
    });
    const plain = JSON.parse(formatLine(f, finished(request()))) as unknown;
    expect(plain).toEqual({ nq: '/orders/v1/items', wq: '/orders/v1/items?apikey=SECRET-KEY', orig: null });
    const rewritten = finished(
      request({
        path: '/items?apikey=SECRET-KEY',
        headers: [['x-envoy-original-path', '/orders/v1/items?apikey=SECRET-KEY']],
      }),
    );
    expect(JSON.parse(formatLine(f, rewritten))).toMatchObject({ nq: '/orders/v1/items' });
  });

  it('refuses options Envoy refuses', () => {
    expect(() => parseFormatString('%PATH(XQ)%')).toThrow(/only WQ\/NQ/);
    expect(() => parseFormatString('%PATH(NQ:FOO)%')).toThrow(/only ORIG\/PATH\/ORIG_OR_PATH/);
  });
});

describe('operators devproxy does not play', () => {
  it('are a config error naming the operator, never an empty field', () => {
    expect(() => parseFormatString('%UPSTREAM_TRANSPORT_FAILURE_REASON%')).toThrow(ConfigRejectedError);
    expect(() => parseFormatString('%UPSTREAM_TRANSPORT_FAILURE_REASON%')).toThrow(
      /does not play the command operator %UPSTREAM_TRANSPORT_FAILURE_REASON%/,
    );
    expect(() => parseFormatString('%START_TIME(%s)%')).toThrow(ConfigRejectedError);
    expect(() => parseFormatString('100% done')).toThrow(/unterminated command|not a command operator/);
  });
});

describe('hostile request values: the line stays one valid JSON line', () => {
  const f = format({
    request_id: '%REQ(X-REQUEST-ID)%',
    path: '%PATH(NQ:ORIG_OR_PATH)%',
    authority: '%REQ(:AUTHORITY)%',
    mixed: 'id=%REQ(X-REQUEST-ID)%',
  });

  it.each([
    ['a newline and a JSON object in a header', 'x\n{"status":200,"injected":true}\r\n'],
    ['quotes, backslashes and control characters', '"\\\u0000\u0007\u001b[31m'],
    ['a line separator and non-ASCII bytes', 'a\u2028b\u00ff'],
    ['a huge value', 'x'.repeat(60 * 1024)],
  ])('%s', (_what, value) => {
    const info = finished(request({ path: '/a%0a%0d/b?k=%0a', authority: value, headers: [['x-request-id', value]] }));
    const line = formatLine(f, info);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toMatch(/[\n\r]/);
    const parsed = JSON.parse(line) as Record<string, unknown>;
    expect(parsed).toEqual({ request_id: value, path: '/a%0a%0d/b', authority: value, mixed: `id=${value}` });
    expect(Object.keys(parsed)).toHaveLength(4);
  });
});
