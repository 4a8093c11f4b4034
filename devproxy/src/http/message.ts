// Requests and responses as Envoy holds them between its codec and its filters: a lower-cased header
// list in arrival order, the pseudo-headers apart, the body and trailers whole.
export type HeaderList = Array<[string, string]>;

export interface HttpRequest {
  method: string;
  /** Path with query string, as `:path`. */
  path: string;
  scheme?: string;
  authority?: string;
  headers: HeaderList;
  body?: Buffer;
  trailers?: HeaderList;
  /** The downstream protocol (Envoy's request.protocol): HTTP/1.0, HTTP/1.1 or HTTP/2. */
  protocol?: string;
}

export interface HttpResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
  trailers?: HeaderList;
  /**
   * Set when Envoy itself answered (sendLocalReply): its response code details, which Envoy logs but
   * never sends. A local reply skips ext_proc's response processing and the router's upstream headers.
   */
  localReply?: { details: string };
  /** HTTP/2 only: reset the stream instead of answering (a codec error). */
  resetStream?: boolean;
  /**
   * The upstream response stopped after its headers (the route or stream idle timeout, a reset):
   * `body` is what came. The router asks for this local reply (Filter::onUpstreamAbort), which
   * FilterManager::sendLocalReply sends straight to the codec while a filter still holds the response
   * headers, and otherwise, the headers having gone downstream, turns into a reset of the stream.
   */
  cut?: { status: number; body: string; details: string };
}

/** The first value of a header (names are lower case in a HeaderList). */
export function header(headers: HeaderList, name: string): string | undefined {
  const key = name.toLowerCase();
  return headers.find(([n]) => n === key)?.[1];
}

/** Every header but `name`. */
export const withoutHeader = (headers: HeaderList, name: string): HeaderList => headers.filter(([n]) => n !== name);

/** `name` set to one value (Envoy's setCopy: every old value goes, the new one is added at the end). */
export const withHeader = (headers: HeaderList, name: string, value: string): HeaderList => [
  ...withoutHeader(headers, name),
  [name, value],
];

/** Grpc::Common::hasGrpcContentType: application/grpc, alone or with a +suffix or ;parameters. */
export const isGrpcRequest = (headers: HeaderList) =>
  /^application\/grpc($|[+;])/.test(header(headers, 'content-type') ?? '');
