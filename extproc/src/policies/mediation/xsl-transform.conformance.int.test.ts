import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ensureDebianPackage } from '../../../../e2e/env/debian.ts';
import { xslTransformTask } from './xsl-transform.ts';

// The conformance set (testdata/xslt-conformance): each stylesheet's output from the engine, compared to
// Debian's xsltproc (libxslt), the reference. Runs where xsltproc is installed or installable (e2e/env/debian.ts);
// the cases that pass are pinned, so a regression (or an improvement) of the engine shows here.
const conformanceDir = join(import.meta.dirname, 'testdata', 'xslt-conformance');
const hasXsltproc = ensureDebianPackage('xsltproc', 'xsltproc');

/** Canonical form for comparison: no XML declaration, no whitespace between tags, trimmed. */
const canonical = (s: string) =>
  s
    .replace(/^<\?xml[^>]*\?>\s*/, '')
    .replace(/>\s+</g, '><')
    .trim();

function conformanceCases(): Array<{ name: string; xsl: string; xml: string; params: Record<string, string> }> {
  return readdirSync(conformanceDir)
    .filter((f) => f.endsWith('.xsl'))
    .sort()
    .map((f) => {
      const name = f.slice(0, -4);
      const own = join(conformanceDir, `${name}.xml`);
      const paramsFile = join(conformanceDir, `${name}.params`);
      return {
        name,
        xsl: join(conformanceDir, f),
        xml: existsSync(own) ? own : join(conformanceDir, 'orders.xml'),
        params: existsSync(paramsFile)
          ? Object.fromEntries(
              readFileSync(paramsFile, 'utf8')
                .trim()
                .split(/\s+/)
                .map((kv) => kv.split('=') as [string, string]),
            )
          : {},
      };
    });
}

/** The cases the engine (xslt-processor 5.1.2) answers as xsltproc does, canonicalised (docs/policies.md#xsltransform). */
const PASSING = ['01-identity', '02-modes-priorities', '05-sort', '08-param', '09-output-html', '11-soap-to-json'];

describe.skipIf(!hasXsltproc)('XSLTransform conformance against xsltproc', () => {
  it('matches xsltproc on the pinned cases, and only on those', async () => {
    const passing: string[] = [];
    for (const c of conformanceCases()) {
      const args = Object.entries(c.params).flatMap(([k, v]) => ['--stringparam', k, v]);
      const expected = execFileSync('xsltproc', [...args, c.xsl, c.xml], { encoding: 'utf8' });
      const result = await xslTransformTask({
        body: readFileSync(c.xml),
        stylesheet: readFileSync(c.xsl, 'utf8'),
        parameters: Object.entries(c.params).map(([name, value]) => ({ name, value })),
      });
      if ('output' in result && canonical(result.output) === canonical(expected)) passing.push(c.name);
    }
    expect(passing).toEqual(PASSING);
  });
});
