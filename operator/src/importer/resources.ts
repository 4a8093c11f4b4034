// Bundle resources a policy names by ResourceURL (`xsl://name` → apiproxy/resources/xsl/name), read as
// text to be put inline in the policy (docs/import.md#resources). Bounded by the size Gatehouse accepts
// inline (the same bound the CRD and the compiler hold), so a resource that would not compile is
// reported here, with its policy, instead.
import { MAX_XML_RESOURCE_CHARS } from '../../../protos/policies/mediation/xml-resource.ts';
import type { BundleFiles } from './source.ts';

export type ResourceRead = { text: string; path: string } | { problem: string; path?: string };

const URL = /^(xsl|xsd|wsdl|jsc|py):\/\/([A-Za-z0-9_.-]+)$/;

/** The resource `url` names in the bundle, or why it cannot be used. */
export function readResource(bundle: BundleFiles, url: string, schemes: readonly string[]): ResourceRead {
  const m = URL.exec(url);
  if (!m || !schemes.includes(m[1]!))
    return { problem: `ResourceURL "${url}" is not ${schemes.map((s) => `${s}://name`).join(' or ')}` };
  const path = `${bundle.kind}/resources/${m[1]}/${m[2]}`;
  const bytes = bundle.files.get(path);
  if (!bytes)
    return {
      problem: `${path} is not in the bundle (an environment or organization resource is not read: put it in the bundle)`,
    };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes).replace(/^\uFEFF/, '');
  } catch {
    return { path, problem: `${path} is not UTF-8 text` };
  }
  if (text.length > MAX_XML_RESOURCE_CHARS)
    return {
      path,
      problem: `${path} has ${text.length} characters, more than the ${MAX_XML_RESOURCE_CHARS} Gatehouse accepts inline`,
    };
  return { text, path };
}
