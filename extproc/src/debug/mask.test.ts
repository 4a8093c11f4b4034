// Masking and bounding a capture (docs/operations.md#debug-sessions), on hostile input: credentials in
// unexpected places and encodings, bodies that are not what they claim, mask rules that do not compile.
import { describe, expect, it } from 'vitest';
import type { DebugMask__Output } from '../../../protos/gen/gatehouse/v1/DebugMask.ts';
import { fitTransaction, MASK, maskTransaction, serializedSize, type RawTransaction } from './mask.ts';
import type { MessageState, RawPoint } from './recorder.ts';

const message = (init: Partial<MessageState>): MessageState => ({
  method: 'GET',
  path: '/x',
  status: 0,
  headers: [],
  body: Buffer.alloc(0),
  ...init,
});

function point(init: Partial<RawPoint>): RawPoint {
  return {
    kind: 'PhaseStarted',
    phase: 'ProxyRequest',
    flow: '',
    policy: '',
    policyType: '',
    outcome: '',
    faultCode: '',
    condition: '',
    conditionResult: false,
    elapsedUs: 0,
    durationUs: 0,
    variablesRead: [],
    variablesSet: [],
    variablesRemoved: [],
    ...init,
  };
}

const tx = (points: RawPoint[], faultName = ''): RawTransaction => ({
  requestId: 'r',
  traceId: '',
  startedAtMs: 1,
  durationUs: 1,
  proxy: 'shop/p',
  status: 200,
  faultName,
  points,
});

const emptyMask = (m: Partial<DebugMask__Output> = {}): DebugMask__Output => ({
  jsonPathsRequest: [],
  jsonPathsResponse: [],
  jsonPathsFault: [],
  xpathsRequest: [],
  xpathsResponse: [],
  xpathsFault: [],
  namespaces: {},
  variables: [],
  headers: [],
  ...m,
});

const mask = (raw: RawTransaction, credentials: string[] = [], m?: DebugMask__Output, max = 1 << 20) =>
  maskTransaction(raw, { mask: m, credentials, credentialParams: new Set(), credentialHeaders: new Set() }, max);

describe('credentials', () => {
  it('masks a presented credential wherever it appears, raw or URL-encoded, and never a short one inside text', () => {
    const secret = 'abc+def/ghi=';
    const out = mask(
      tx([
        point({
          messageBefore: message({
            path: `/x?q=${encodeURIComponent(secret)}&k=1`,
            headers: [['x-echo', `token ${secret} end`]],
            body: Buffer.from(JSON.stringify({ note: `has ${secret}` })),
          }),
          variablesSet: [
            { name: 'a', value: secret },
            { name: 'b', value: 'k1' },
          ],
        }),
      ]),
      [secret, 'k1'],
    );
    const text = JSON.stringify(out);
    expect(text.includes(secret)).toBe(false);
    expect(text.includes(encodeURIComponent(secret))).toBe(false);
    const p = out.points![0]!;
    expect(p.messageBefore!.path).toBe(`/x?q=${MASK}&k=1`);
    // A short credential is masked as a whole value only: "k1" in "&k=1" or other text stays.
    expect(p.variablesSet).toEqual([
      { name: 'a', value: MASK },
      { name: 'b', value: MASK },
    ]);
  });

  it('masks credential headers and variables by name, whatever their value', () => {
    const out = mask(
      tx([
        point({
          messageBefore: message({
            headers: [
              ['Authorization', 'x'],
              ['cookie', 'a=b'],
              ['x-ok', 'shown'],
            ],
          }),
          variablesRead: [
            { name: 'request.header.authorization', value: 'Bearer zzz' },
            { name: 'request.queryparam.client_secret', value: 's' },
            { name: 'private.key', value: 'p' },
            { name: 'oauthv2accesstoken.t.refresh_token', value: 'r' },
            { name: 'request.verb', value: 'GET' },
          ],
        }),
      ]),
    );
    const p = out.points![0]!;
    expect(p.messageBefore!.headers).toEqual([
      { name: 'Authorization', value: MASK },
      { name: 'cookie', value: MASK },
      { name: 'x-ok', value: 'shown' },
    ]);
    // private.* is hidden (Apigee), the others masked by name.
    expect(p.variablesRead!.map((v) => `${v.name}=${v.value}`)).toEqual([
      `request.header.authorization=${MASK}`,
      `request.queryparam.client_secret=${MASK}`,
      `oauthv2accesstoken.t.refresh_token=${MASK}`,
      'request.verb=GET',
    ]);
  });

  it('masks form credentials and JSON token members in any body, with no mask at all', () => {
    const out = mask(
      tx([
        point({
          messageBefore: message({
            headers: [['content-type', 'application/x-www-form-urlencoded']],
            body: Buffer.from('grant_type=password&username=ada&password=hunter22&code=c0de'),
          }),
        }),
        point({
          kind: 'ResponseSent',
          phase: 'ProxyResponse',
          messageAfter: message({
            status: 200,
            headers: [['content-type', 'application/json']],
            body: Buffer.from('{"access_token":"t","nested":[{"Refresh_Token":{"x":1}}],"ok":1}'),
          }),
        }),
      ]),
    );
    expect(out.points![0]!.messageBefore!.body).toBe(`grant_type=password&username=ada&password=${MASK}&code=${MASK}`);
    expect(JSON.parse(out.points![1]!.messageAfter!.body!)).toEqual({
      access_token: MASK,
      nested: [{ Refresh_Token: MASK }],
      ok: 1,
    });
  });
});

describe('mask rules', () => {
  const response = (body: string, type: string) =>
    point({
      kind: 'ResponseSent',
      phase: 'ProxyResponse',
      messageAfter: message({ status: 500, headers: [['content-type', type]], body: Buffer.from(body) }),
    });

  it('applies fault JSONPaths to a faulted transaction only', () => {
    const m = emptyMask({ jsonPathsFault: ['$.fault.detail.who'] });
    const body = '{"fault":{"detail":{"who":"ada","errorcode":"x"}}}';
    const faulted = mask(tx([response(body, 'application/json')], 'Boom'), [], m);
    expect(JSON.parse(faulted.points![0]!.messageAfter!.body!)).toEqual({
      fault: { detail: { who: MASK, errorcode: 'x' } },
    });
    const ok = mask(tx([response(body, 'application/json')]), [], m);
    expect(ok.points![0]!.messageAfter!.body).toBe(body);
  });

  it('masks a whole body its rule could not be applied to: a rule that does not compile, JSON that is not JSON, too deep', () => {
    const bad = emptyMask({ jsonPathsResponse: ['$[?(@.x)]'] });
    expect(mask(tx([response('{"a":1}', 'application/json')]), [], bad).points![0]!.messageAfter!.body).toBe(MASK);
    const good = emptyMask({ jsonPathsResponse: ['$.a'] });
    expect(mask(tx([response('{"a":', 'application/json')]), [], good).points![0]!.messageAfter!.body).toBe(MASK);
    const deep = `${'['.repeat(300)}1${']'.repeat(300)}`;
    expect(mask(tx([response(deep, 'application/json')]), [], good).points![0]!.messageAfter!.body).toBe(MASK);
    const xml = emptyMask({ xpathsResponse: ['/a/b'] });
    expect(mask(tx([response('<a><b>', 'application/xml')]), [], xml).points![0]!.messageAfter!.body).toBe(MASK);
  });

  it('masks XML text and attributes selected, escaped as they stand in the document', () => {
    const m = emptyMask({ xpathsResponse: ['//secret', '//card/@pin'] });
    const body = '<r><secret>a &amp; b</secret><card pin="1234"/><other>a &amp; b!</other></r>';
    const out = mask(tx([response(body, 'text/xml')]), [], m).points![0]!.messageAfter!.body;
    expect(out).toBe(`<r><secret>${MASK}</secret><card pin="${MASK}"/><other>${MASK}!</other></r>`);
  });

  it('sends a body that is not UTF-8 as base64', () => {
    const out = mask(tx([response('', 'application/octet-stream')]));
    expect(out.points![0]!.messageAfter!.body).toBe('');
    const binary = point({ messageBefore: message({ body: Buffer.from([0xff, 0xfe, 0x00, 0x80]) }) });
    const sent = mask(tx([binary])).points![0]!.messageBefore!;
    expect(sent).toMatchObject({ body: '//4AgA==', bodyBase64: true });
  });
});

describe('bounds', () => {
  it('cuts the largest bodies first and keeps the transaction under the bound', () => {
    const small = point({ messageBefore: message({ body: Buffer.from('small body') }) });
    const huge = point({
      kind: 'ResponseSent',
      phase: 'ProxyResponse',
      messageAfter: message({ body: Buffer.from('é'.repeat(100_000)) }),
    });
    const out = mask(tx([small, huge]), [], undefined, 4096);
    expect(serializedSize(out)).toBeLessThanOrEqual(4096);
    expect(out.truncated).toBe(true);
    expect(out.points![0]!.messageBefore!.body).toBe('small body');
    const cut = out.points![1]!.messageAfter!;
    expect(cut.bodyTruncated).toBe(true);
    expect(cut.body!.length).toBeGreaterThan(100);
    expect(cut.body!.includes('\uFFFD')).toBe(false);
  });

  it('drops points from the end when bodies are not what is too large', () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      point({ kind: 'StepExecuted', policy: `p${i}`, variablesSet: [{ name: `v${i}`, value: 'x'.repeat(50) }] }),
    );
    const out = mask(tx(many), [], undefined, 2048);
    expect(serializedSize(out)).toBeLessThanOrEqual(2048);
    expect(out.truncated).toBe(true);
    expect(out.points![0]!.policy).toBe('p0');
    expect(out.points!.at(-1)!.policy).toBe('p499');
  });

  it('a transaction within the bound is left as it is', () => {
    const t = mask(tx([point({ messageBefore: message({ body: Buffer.from('hi') }) })]));
    expect(t.truncated).toBe(false);
    fitTransaction(t, 0);
    expect(t.truncated).toBe(false);
  });
});
