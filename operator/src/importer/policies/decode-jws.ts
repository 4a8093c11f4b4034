// <DecodeJWS> -> DecodeJWS (docs/policies.md#decodejws): <Source> only.
import { variableName } from './jwt-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const decodeJwsConverter: PolicyConverter = {
  type: 'DecodeJWS',
  convert: (el) => compact({ source: variableName(el, 'Source') }),
};
