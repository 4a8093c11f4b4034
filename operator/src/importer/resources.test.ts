// Resources a policy names by ResourceURL: read from the bundle and put inline, and every way that
// can fail reported against the policy (a resource too large to inline, bytes that are not UTF-8, a
// scheme the policy does not read, a name reaching outside resources/), never guessed or half-read.
import { describe, expect, it } from 'vitest';
import { MAX_XML_RESOURCE_CHARS } from '../../../protos/policies/mediation/xml-resource.ts';
import { convertBundle } from './convert-bundle.ts';
import type { BundleFiles } from './source.ts';

const enc = (s: string) => new TextEncoder().encode(s);
const xsl = (body: string) =>
  `<xsl:stylesheet xmlns:xsl="http://www.w3.org/1999/XSL/Transform" version="1.0">${body}</xsl:stylesheet>`;

function bundle(policy: string, resources: Record<string, Uint8Array>): BundleFiles {
  return {
    kind: 'apiproxy',
    files: new Map<string, Uint8Array>([
      ['apiproxy/p.xml', enc('<APIProxy name="p"/>')],
      ['apiproxy/policies/T.xml', enc(policy)],
      ...Object.entries(resources),
    ]),
  };
}

const convert = (policy: string, resources: Record<string, Uint8Array>) => {
  const out = convertBundle(bundle(policy, resources), 'p');
  return { converted: out.policies[0]!.converted, unsupported: out.unsupported, objects: out.objects };
};

describe('bundle resources named by ResourceURL', () => {
  it('puts the stylesheet inline and does not report the resource as unconverted', () => {
    const text = xsl('<xsl:template match="/"><xsl:copy-of select="."/></xsl:template>');
    const r = convert('<XSL name="T"><ResourceURL>xsl://t.xsl</ResourceURL></XSL>', {
      'apiproxy/resources/xsl/t.xsl': enc(`\uFEFF${text}`),
    });
    expect(r.converted).toBe(true);
    const policy = r.objects.find((o) => o.kind === 'ApiPolicy')!;
    expect(policy.spec).toEqual({
      type: 'XSLTransform',
      xslTransform: { resourceURL: 'xsl://t.xsl', stylesheet: text },
    });
    expect(r.unsupported.filter((u) => u.file.includes('resources'))).toEqual([]);
  });

  it('reports a resource larger than Gatehouse accepts inline, and does not convert the policy', () => {
    const big = xsl(`<!--${'x'.repeat(MAX_XML_RESOURCE_CHARS)}-->`);
    const r = convert('<XSL name="T"><ResourceURL>xsl://big.xsl</ResourceURL></XSL>', {
      'apiproxy/resources/xsl/big.xsl': enc(big),
    });
    expect(r.converted).toBe(false);
    const found = r.unsupported.find((u) => u.file === 'apiproxy/policies/T.xml' && u.xpath === '/XSL/ResourceURL');
    expect(found?.reason).toContain(`more than the ${MAX_XML_RESOURCE_CHARS} Gatehouse accepts inline`);
    // Reported once, with its policy: not again as an unconverted resource.
    expect(r.unsupported.filter((u) => u.file === 'apiproxy/resources/xsl/big.xsl')).toEqual([]);
  });

  it('reports a resource that is not UTF-8', () => {
    const r = convert('<MessageValidation name="T"><ResourceURL>xsd://s.xsd</ResourceURL></MessageValidation>', {
      'apiproxy/resources/xsd/s.xsd': new Uint8Array([0x3c, 0xff, 0xfe, 0x3e]),
    });
    expect(r.converted).toBe(false);
    expect(r.unsupported.map((u) => u.reason)).toContain('apiproxy/resources/xsd/s.xsd is not UTF-8 text');
  });

  it('refuses a scheme the policy does not read and a name that would leave resources/', () => {
    const files = { 'apiproxy/resources/xsd/s.xsd': enc('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"/>') };
    for (const url of ['xsd://s.xsd', 'xsl://../xsd/s.xsd', 'file:///etc/passwd']) {
      const r = convert(`<XSL name="T"><ResourceURL>${url}</ResourceURL></XSL>`, files);
      expect(r.converted, url).toBe(false);
      expect(r.unsupported.map((u) => u.reason).join('\n'), url).toContain(`ResourceURL "${url}" is not xsl://name`);
    }
  });

  it('reports a schema the compiler would refuse (xs:include) instead of writing it', () => {
    const r = convert('<MessageValidation name="T"><ResourceURL>xsd://s.xsd</ResourceURL></MessageValidation>', {
      'apiproxy/resources/xsd/s.xsd': enc(
        '<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"><xs:include schemaLocation="http://evil/x.xsd"/></xs:schema>',
      ),
    });
    expect(r.converted).toBe(false);
    expect(r.unsupported.map((u) => u.reason).join('\n')).toContain('xs:include is not allowed');
  });
});
