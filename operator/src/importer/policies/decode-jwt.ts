// <DecodeJWT> -> DecodeJWT (docs/policies.md#decodejwt): <Source> only (the token is not checked).
import { variableName } from './jwt-common.ts';
import { compact, type PolicyConverter } from './support.ts';

export const decodeJwtConverter: PolicyConverter = {
  type: 'DecodeJWT',
  convert: (el) => compact({ source: variableName(el, 'Source') }),
};
