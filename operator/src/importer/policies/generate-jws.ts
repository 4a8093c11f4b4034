// <GenerateJWS> -> GenerateJWS (docs/policies.md#generatejws): <Algorithm>, <PrivateKey> or <SecretKey>
// (refs only; a literal key is reported, jwt-common.ts), <Payload ref>, <DetachContent>, headers, output.
import { algorithm, claims, flag, headerList, privateKey, secretKey, SKIP, variableName } from './jwt-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const generateJwsConverter: PolicyConverter = {
  type: 'GenerateJWS',
  convert(el, ctx) {
    const alg = algorithm(el, ctx);
    const priv = privateKey(el, ctx);
    const secret = secretKey(el, ctx);
    const payloadEl = el.child('Payload');
    const payload = payloadEl?.attr('ref');
    if (!payload)
      ctx.unsupported(
        payloadEl?.xpath ?? el.xpath,
        'Gatehouse signs a variable: <Payload ref> is required; the policy is not converted',
      );
    else if (payloadEl!.text !== '')
      ctx.unsupported(payloadEl!.xpath, `the literal payload is dropped: Gatehouse reads only the ref ${payload}`);
    const outputVariable = variableName(el, 'OutputVariable');
    if (!outputVariable) ctx.unsupported(el.xpath, 'no <OutputVariable>: the policy is not converted');
    if (!alg || !payload || !outputVariable || priv === SKIP || secret === SKIP) return undefined;
    return compact({
      algorithm: alg,
      privateKey: priv,
      secretKey: secret,
      payload,
      detachContent: flag(el, 'DetachContent', ctx),
      additionalHeaders: claims(el.child('AdditionalHeaders'), ctx),
      criticalHeaders: headerList(el, 'CriticalHeaders'),
      outputVariable,
      ignoreUnresolvedVariables: flag(el, 'IgnoreUnresolvedVariables', ctx),
    });
  },
};
