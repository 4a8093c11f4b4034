// <VerifyAPIKey> -> VerifyAPIKey (docs/policies.md#verifyapikey).
import type { PolicyConverter } from './support.ts';

export const verifyApiKeyConverter: PolicyConverter = {
  type: 'VerifyAPIKey',
  convert(el, ctx) {
    const key = el.child('APIKey');
    const ref = key?.attr('ref');
    if (key && key.text !== '')
      ctx.unsupported(key.xpath, 'a literal API key would stand in the manifests in clear; only the ref is kept');
    if (!ref) {
      ctx.unsupported(key?.xpath ?? el.xpath, 'no <APIKey ref="..."> to read the key from');
      return undefined;
    }
    return { apiKey: { ref } };
  },
};
