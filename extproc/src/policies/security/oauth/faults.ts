// The faults of the OAuthV2 policies, with Apigee's codes, statuses and messages (docs/policies.md#oauthv2).
// Resource-side failures (VerifyAccessToken) use the standard fault body. Token-endpoint failures are
// OAuthError: with generateResponse/generateErrorResponse they answer with Apigee's OAuth error body
// {"ErrorCode", "Error"}, or RFC 6749's {"error", "error_description"} under rfcCompliantRequestResponse.
import { GatehouseError } from '../../../../../lib/errors.ts';
import { PolicyFault } from '../../../flow/faults.ts';

const fault = (status: number, errorCode: string, faultString: string, headers?: Record<string, string>) =>
  new PolicyFault({ status, errorCode, faultString, ...(headers ? { headers } : {}) });

// --- VerifyAccessToken ---

/** No Authorization header, or not "Bearer <token>". */
export const missingBearer = () => fault(401, 'oauth.v2.InvalidAccessToken', 'Invalid access token');
export const unresolvedAccessToken = () =>
  fault(500, 'steps.oauth.v2.FailedToResolveAccessToken', 'Unable to resolve the access token');
export const invalidAccessToken = () =>
  fault(401, 'keymanagement.service.invalid_access_token', 'Invalid Access Token');
export const accessTokenExpired = () =>
  fault(401, 'keymanagement.service.access_token_expired', 'Access Token expired');
export const accessTokenNotApproved = () =>
  fault(401, 'keymanagement.service.access_token_not_approved', 'Access Token not approved');
export const appNotApproved = () =>
  fault(
    401,
    'keymanagement.service.invalid_client-app_not_approved',
    'Invalid client: the app or its credential is not approved',
  );
export const noProductMatch = () =>
  fault(
    401,
    'keymanagement.service.InvalidAPICallAsNoApiProductMatchFound',
    'Invalid API call as no apiproduct match found',
  );
export const insufficientScope = (required: string) =>
  fault(403, 'steps.oauth.v2.insufficient_scope', `Required scope(s) : ${required}`);

// --- token endpoint ---

/** The RFC 6749 error names (section 5.2, 4.1.2.1). */
export type RfcError =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unsupported_grant_type'
  | 'invalid_scope'
  | 'unsupported_response_type';

/** A token-endpoint failure, shaped into a fault by toFault once the step knows its response options. */
export interface OAuthError {
  readonly status: number;
  readonly errorCode: string;
  /** Apigee's ErrorCode in the OAuth error body (invalid_request for most, as Apigee sends). */
  readonly apigeeError: string;
  readonly rfcError: RfcError;
  readonly message: string;
}

/** Thrown inside a token-endpoint operation; the step turns it into its PolicyFault. */
export class OAuthErrorThrown extends GatehouseError {
  readonly error: OAuthError;

  constructor(error: OAuthError) {
    super('GH_ERR_OAUTH_REQUEST', error.message);
    this.error = error;
  }
}

const oauthError = (
  status: number,
  errorCode: string,
  apigeeError: string,
  rfcError: RfcError,
  message: string,
): OAuthErrorThrown => new OAuthErrorThrown({ status, errorCode, apigeeError, rfcError, message });

export const invalidRequest = (message: string) =>
  oauthError(400, 'oauth.v2.invalid_request', 'invalid_request', 'invalid_request', message);
export const invalidClient = (message = 'ClientId is Invalid') =>
  oauthError(401, 'oauth.v2.invalid_client', 'invalid_client', 'invalid_client', message);
export const invalidGrant = (message: string) =>
  oauthError(400, 'oauth.v2.invalid_grant', 'invalid_request', 'invalid_grant', message);
export const unsupportedGrantType = (grantType: string) =>
  oauthError(
    400,
    'oauth.v2.unsupported_grant_type',
    'invalid_request',
    'unsupported_grant_type',
    `Unsupported grant type : ${grantType}`,
  );
export const invalidScope = (message: string) =>
  oauthError(400, 'oauth.v2.invalid_scope', 'invalid_scope', 'invalid_scope', message);
export const unsupportedResponseType = () =>
  oauthError(
    400,
    'oauth.v2.unsupported_response_type',
    'invalid_request',
    'unsupported_response_type',
    'Response type must be code',
  );

export interface ErrorShape {
  /** Answer with the OAuth error body rather than the fault body. */
  oauthBody: boolean;
  rfc: boolean;
  /** The client authenticated with Basic: a 401 carries WWW-Authenticate (RFC 6749 5.2). */
  basic?: boolean;
}

export function toFault({ error }: OAuthErrorThrown, shape: ErrorShape): PolicyFault {
  const headers: Record<string, string> = { 'cache-control': 'no-store', pragma: 'no-cache' };
  if (error.status === 401 && shape.basic) headers['www-authenticate'] = 'Basic realm="gatehouse"';
  if (!shape.oauthBody) return fault(error.status, error.errorCode, error.message, headers);
  const content = shape.rfc
    ? { error: error.rfcError, error_description: error.message }
    : { ErrorCode: error.apigeeError, Error: error.message };
  return new PolicyFault({
    status: error.status,
    errorCode: error.errorCode,
    faultString: error.message,
    headers,
    body: { contentType: 'application/json', content: JSON.stringify(content) },
  });
}
