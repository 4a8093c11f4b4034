// Apigee's fault codes for the JWT and JWS policies (docs/policies.md#verifyjwt): verifying and
// decoding policies answer 401, generating ones 500, as Apigee's policy error reference lists them.
import { PolicyFault } from '../../../flow/faults.ts';

export const jwtFaultCodes = {
  AlgorithmInTokenNotPresentInConfiguration: 'steps.jwt.AlgorithmInTokenNotPresentInConfiguration',
  EncryptionFailed: 'steps.jwt.EncryptionFailed',
  FailedToDecode: 'steps.jwt.FailedToDecode',
  FailedToResolveVariable: 'steps.jwt.FailedToResolveVariable',
  InsufficientKeyLength: 'steps.jwt.InsufficientKeyLength',
  InvalidClaim: 'steps.jwt.InvalidClaim',
  InvalidPrivateKey: 'steps.jwt.InvalidPrivateKey',
  InvalidPublicKey: 'steps.jwt.InvalidPublicKey',
  InvalidSecretKey: 'steps.jwt.InvalidSecretKey',
  InvalidToken: 'steps.jwt.InvalidToken',
  JwtAudienceMismatch: 'steps.jwt.JwtAudienceMismatch',
  JwtIssuerMismatch: 'steps.jwt.JwtIssuerMismatch',
  JwtSubjectMismatch: 'steps.jwt.JwtSubjectMismatch',
  NoAlgorithmFoundInHeader: 'steps.jwt.NoAlgorithmFoundInHeader',
  NoMatchingPublicKey: 'steps.jwt.NoMatchingPublicKey',
  SigningFailed: 'steps.jwt.SigningFailed',
  TokenExpired: 'steps.jwt.TokenExpired',
  TokenNotYetValid: 'steps.jwt.TokenNotYetValid',
  UnhandledCriticalHeader: 'steps.jwt.UnhandledCriticalHeader',
  UnknownException: 'steps.jwt.UnknownException',
} as const;

export const jwsFaultCodes = {
  AlgorithmInTokenNotPresentInConfiguration: 'steps.jws.AlgorithmInTokenNotPresentInConfiguration',
  ContentIsNotDetached: 'steps.jws.ContentIsNotDetached',
  FailedToDecode: 'steps.jws.FailedToDecode',
  FailedToResolveVariable: 'steps.jws.FailedToResolveVariable',
  InsufficientKeyLength: 'steps.jws.InsufficientKeyLength',
  InvalidClaim: 'steps.jws.InvalidClaim',
  InvalidPrivateKey: 'steps.jws.InvalidPrivateKey',
  InvalidPublicKey: 'steps.jws.InvalidPublicKey',
  InvalidSecretKey: 'steps.jws.InvalidSecretKey',
  InvalidSignature: 'steps.jws.InvalidSignature',
  MissingPayload: 'steps.jws.MissingPayload',
  NoAlgorithmFoundInHeader: 'steps.jws.NoAlgorithmFoundInHeader',
  NoMatchingPublicKey: 'steps.jws.NoMatchingPublicKey',
  SigningFailed: 'steps.jws.SigningFailed',
  UnhandledCriticalHeader: 'steps.jws.UnhandledCriticalHeader',
  UnknownException: 'steps.jws.UnknownException',
} as const;

export type JwtFaultName = keyof typeof jwtFaultCodes;
export type JwsFaultName = keyof typeof jwsFaultCodes;
/** The names both families share, as the common verification code raises them. */
export type JoseFaultName = JwtFaultName & JwsFaultName;

/** A fault of one family; `status` 401 for verifying and decoding, 500 for generating. */
export interface JoseFaults {
  readonly family: 'jwt' | 'jws';
  fault(name: JoseFaultName, faultString: string): PolicyFault;
  /** The signature does not verify: jwt InvalidToken, jws InvalidSignature. */
  badSignature(faultString: string): PolicyFault;
  /** The token is not a well-formed JWS/JWT: FailedToDecode in both families. */
  undecodable(faultString: string): PolicyFault;
}

export function joseFaults(family: 'jwt' | 'jws', status: 401 | 500): JoseFaults {
  const codes: Record<string, string> = family === 'jwt' ? jwtFaultCodes : jwsFaultCodes;
  return {
    family,
    fault: (name, faultString) => new PolicyFault({ status, errorCode: codes[name]!, faultString }),
    badSignature: (faultString) =>
      family === 'jwt'
        ? jwtFault('InvalidToken', status, faultString)
        : jwsFault('InvalidSignature', status, faultString),
    undecodable: (faultString) => new PolicyFault({ status, errorCode: codes['FailedToDecode']!, faultString }),
  };
}

/** A fault only one family has. */
export function jwtFault(name: JwtFaultName, status: 401 | 500, faultString: string): PolicyFault {
  return new PolicyFault({ status, errorCode: jwtFaultCodes[name], faultString });
}

export function jwsFault(name: JwsFaultName, status: 401 | 500, faultString: string): PolicyFault {
  return new PolicyFault({ status, errorCode: jwsFaultCodes[name], faultString });
}
