// Envoy's local replies (Utility::prepareLocalReply and encodeLocalReply, source/common/http/utility.cc):
// a body gets content-length and, without a content-type, text/plain; an empty body gets neither; a
// gRPC request gets HTTP 200 with grpc-status (and grpc-message from the body) as a trailers-only
// response; a HEAD request gets the headers alone. The details are Envoy's response code details:
// logged, never sent.
import {
  header,
  isGrpcRequest,
  withoutHeader,
  type HeaderList,
  type HttpRequest,
  type HttpResponse,
} from './message.ts';

export interface LocalReplyOptions {
  /** The request being answered: HEAD and gRPC shape the reply. */
  request?: Pick<HttpRequest, 'method' | 'headers'>;
  /** Headers a filter adds (an ext_proc ImmediateResponse's mutation), applied before the body rules. */
  modifyHeaders?: (headers: HeaderList) => HeaderList;
  /** The gRPC status for a gRPC request (default: mapped from the HTTP status). */
  grpcStatus?: number;
}

/** Grpc::Utility::httpToGrpcStatus. */
export function httpToGrpcStatus(status: number): number {
  switch (status) {
    case 400:
      return 13; // INTERNAL
    case 401:
      return 16; // UNAUTHENTICATED
    case 403:
      return 7; // PERMISSION_DENIED
    case 404:
      return 12; // UNIMPLEMENTED
    case 429:
    case 502:
    case 503:
    case 504:
      return 14; // UNAVAILABLE
    default:
      return 2; // UNKNOWN
  }
}

/** PercentEncoding::encode(body, "%") for grpc-message: `%`, bytes below space and from `~` up. */
const percentEncode = (text: string) =>
  Buffer.from(text, 'utf8')
    .toString('latin1')
    .replace(/[^\x20-\x24\x26-\x7d]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`);

export function localReply(
  status: number,
  body: string | Buffer,
  details: string,
  o: LocalReplyOptions = {},
): HttpResponse {
  const text = typeof body === 'string' ? Buffer.from(body) : body;
  let headers: HeaderList = o.modifyHeaders ? o.modifyHeaders([]) : [];
  const isHead = o.request?.method === 'HEAD';
  if (o.request && isGrpcRequest(o.request.headers)) {
    headers = withoutHeader(withoutHeader(headers, 'content-type'), 'content-length');
    headers.push(['content-type', 'application/grpc']);
    if (header(headers, 'grpc-status') === undefined)
      headers.push(['grpc-status', String(o.grpcStatus ?? httpToGrpcStatus(status))]);
    if (text.length > 0 && !isHead) headers.push(['grpc-message', percentEncode(text.toString('utf8'))]);
    return { status: 200, headers, body: Buffer.alloc(0), localReply: { details } };
  }
  if (text.length > 0) {
    headers = [...withoutHeader(headers, 'content-length'), ['content-length', String(text.length)]];
    if (header(headers, 'content-type') === undefined) headers.push(['content-type', 'text/plain']);
  } else {
    headers = withoutHeader(withoutHeader(headers, 'content-length'), 'content-type');
  }
  return { status, headers, body: isHead ? Buffer.alloc(0) : text, localReply: { details } };
}
