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
}

export interface HttpResponse {
  status: number;
  headers: HeaderList;
  body: Buffer;
  trailers?: HeaderList;
}

/** The first value of a header (names are lower case in a HeaderList). */
export function header(headers: HeaderList, name: string): string | undefined {
  const key = name.toLowerCase();
  return headers.find(([n]) => n === key)?.[1];
}
