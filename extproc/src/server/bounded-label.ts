// A metric label whose values are capped (docs/operations.md#metrics): the first `max` distinct values
// are kept as they are, any later one is counted under `overflow`, so no input, however many proxies
// or codes it brings, grows the series count past what the flags allow.
export class BoundedLabel {
  private readonly seen = new Set<string>();
  private readonly max: number;
  readonly overflow: string;
  /** Values folded into `overflow` so far (a distinct value may be counted more than once). */
  overflowed = 0;

  constructor(max: number, overflow = '_other') {
    this.max = max;
    this.overflow = overflow;
  }

  value(v: string): string {
    if (this.seen.has(v)) return v;
    if (this.seen.size < this.max) {
      this.seen.add(v);
      return v;
    }
    this.overflowed++;
    return this.overflow;
  }
}
