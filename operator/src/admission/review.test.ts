import { describe, expect, it } from 'vitest';
import { answer, review, type AdmissionRequest } from './review.ts';

const proxy = (condition: string) => ({
  apiVersion: 'gatehouse.dev/v1alpha1',
  kind: 'ApiProxy',
  metadata: { name: 'orders', namespace: 'shop' },
  spec: {
    basePath: '/orders',
    target: { url: 'http://orders.shop.svc' },
    flows: { conditionalFlows: [{ name: 'f', condition, request: [] }] },
  },
});
const request = (over: Partial<AdmissionRequest>): AdmissionRequest => ({
  uid: 'u-1',
  kind: { group: 'gatehouse.dev', version: 'v1alpha1', kind: 'ApiProxy' },
  namespace: 'shop',
  name: 'orders',
  operation: 'CREATE',
  ...over,
});

describe('admission review', () => {
  it('refuses an object with a problem inside it, naming the field, with code 422', async () => {
    const r = await review(request({ object: proxy('request.verb = ') }));
    expect(r.allowed).toBe(false);
    expect(r.uid).toBe('u-1');
    expect(r.status).toMatchObject({ code: 422, reason: 'Invalid' });
    expect(r.status?.message).toMatch(/^spec\.flows\.conditionalFlows\[0\]\.condition: condition does not parse/);
  });

  it('allows a valid object, and one whose references do not exist yet', async () => {
    expect(await review(request({ object: proxy('request.verb = "GET"') }))).toEqual({ uid: 'u-1', allowed: true });
  });

  it('takes the namespace and name from the request when the object leaves them out', async () => {
    const object = proxy('request.verb = ');
    const bare = { ...object, metadata: { generateName: 'orders-' } };
    expect((await review(request({ object: bare }))).allowed).toBe(false);
    expect((await review(request({ object: { ...bare, spec: proxy('true').spec } }))).allowed).toBe(true);
  });

  it('never refuses an update that leaves the spec alone, or an object being deleted', async () => {
    const bad = proxy('request.verb = ');
    const labelled = { ...bad, metadata: { ...bad.metadata, labels: { team: 'a' } } };
    expect((await review(request({ operation: 'UPDATE', object: labelled, oldObject: bad }))).allowed).toBe(true);
    const deleting = { ...bad, metadata: { ...bad.metadata, deletionTimestamp: '2026-01-01T00:00:00Z' } };
    expect((await review(request({ operation: 'UPDATE', object: deleting, oldObject: proxy('true') }))).allowed).toBe(
      true,
    );
    expect((await review(request({ operation: 'UPDATE', object: bad, oldObject: proxy('true') }))).allowed).toBe(false);
  });

  it('leaves other groups and operations alone', async () => {
    expect((await review(request({ kind: { group: '', kind: 'ConfigMap' }, object: {} }))).allowed).toBe(true);
    expect((await review(request({ operation: 'DELETE', object: proxy('request.verb = ') }))).allowed).toBe(true);
  });

  it('returns compile warnings', async () => {
    const policy = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiPolicy',
      metadata: { name: 'p', namespace: 'shop' },
      spec: {
        type: 'AssignMessage',
        assignMessage: { set: { headers: { authorization: 'Bearer abcdefghijklmnopqrstuvwxyz0123456789' } } },
      },
    };
    const r = await review(request({ kind: { group: 'gatehouse.dev', kind: 'ApiPolicy' }, object: policy }));
    expect(r.allowed).toBe(true);
    expect(r.warnings?.[0]).toMatch(/^spec\.assignMessage\..*credential/);
  });

  it('refuses what is not a review with AdmissionReviewError, and bounds a long refusal', async () => {
    for (const body of [null, [], 'x', {}, { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview' }])
      await expect(answer(body)).rejects.toThrow(expect.objectContaining({ code: 'GH_ERR_ADMISSION_REVIEW' }));
    await expect(
      answer({ apiVersion: 'admission.k8s.io/v1beta1', kind: 'AdmissionReview', request: { uid: 'x' } }),
    ).rejects.toThrow(/admission.k8s.io\/v1/);
    const many = {
      ...proxy('x'),
      spec: {
        ...proxy('x').spec,
        flows: {
          conditionalFlows: Array.from({ length: 64 }, (_, i) => ({
            name: `f${i}`,
            condition: 'request.verb = ',
            request: Array.from({ length: 64 }, () => ({ policy: 'p', condition: 'request.verb = ' })),
          })),
        },
      },
    };
    const r = await answer({
      apiVersion: 'admission.k8s.io/v1',
      kind: 'AdmissionReview',
      request: request({ object: many }),
    });
    expect(r.response.allowed).toBe(false);
    expect(r.response.status!.message.length).toBeLessThan(4200);
    expect(r.response.status!.message).toMatch(/; and \d+ more$/);
  });
});

describe('admission review: SOAPMessageValidation schemas compiled by libxml2', () => {
  const soap = (resourceURL: string, schema: string) => ({
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'ApiPolicy',
    metadata: { name: 'validate', namespace: 'shop' },
    spec: { type: 'SOAPMessageValidation', soapMessageValidation: { resourceURL, schema } },
  });
  const policyRequest = (object: unknown) =>
    request({ kind: { group: 'gatehouse.dev', version: 'v1alpha1', kind: 'ApiPolicy' }, name: 'validate', object });
  const xs = 'xmlns:xs="http://www.w3.org/2001/XMLSchema"';

  it('refuses an XSD that is well-formed but does not compile, naming the field', async () => {
    const r = await review(
      policyRequest(soap('xsd://order.xsd', `<xs:schema ${xs}><xs:element name="o" type="xs:nope"/></xs:schema>`)),
    );
    expect(r.allowed).toBe(false);
    expect(r.status?.message).toMatch(/^spec\.soapMessageValidation\.schema: the XSD does not compile: .*nope/);
  });

  it('refuses a WSDL whose schema does not compile, and allows ones that do', async () => {
    const wsdl = (type: string) =>
      `<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/" ${xs}><wsdl:types>` +
      `<xs:schema targetNamespace="urn:o"><xs:element name="o" type="${type}"/></xs:schema></wsdl:types></wsdl:definitions>`;
    expect((await review(policyRequest(soap('wsdl://o.wsdl', wsdl('xs:missing'))))).status?.message).toMatch(
      /the WSDL does not compile/,
    );
    expect((await review(policyRequest(soap('wsdl://o.wsdl', wsdl('xs:string'))))).allowed).toBe(true);
    expect(
      (
        await review(
          policyRequest(soap('xsd://o.xsd', `<xs:schema ${xs}><xs:element name="o" type="xs:int"/></xs:schema>`)),
        )
      ).allowed,
    ).toBe(true);
  });

  it("leaves a DOCTYPE to the compiler's own check: libxml2 never sees it", async () => {
    const r = await review(
      policyRequest(soap('xsd://o.xsd', `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><xs:schema ${xs}/>`)),
    );
    expect(r.status?.message).toMatch(/DOCTYPE/);
    expect(r.status?.message).not.toMatch(/does not compile/);
  });
});
