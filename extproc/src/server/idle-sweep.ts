// The streams' idle timeout (limits.ts streamIdleTimeoutMs) as one coarse sweep per timeout value
// instead of a timer per stream refreshed on every message (docs/architecture.md#the-hot-path): a
// stream marks itself active with a number write (no clock read, no timer list), and a single unref'd
// timer, running only while streams are registered, ends those that saw no message for the timeout.
// A stream is ended between the timeout and the timeout plus one sweep interval (an eighth of it).

/** What the sweep watches: a stream marks `idleTick` with IdleSweep.tick on every message. */
export interface IdleWatched {
  idleTick: number;
  /** The stream saw no message for the timeout: end it (it is no longer watched). */
  onIdle(): void;
}

/** Sweeps per timeout: the precision of the timeout is this fraction of it. */
const SWEEPS_PER_TIMEOUT = 8;

export class IdleSweep {
  readonly timeoutMs: number;
  /** Sweeps so far: what a stream writes into idleTick when it sees a message. */
  tick = 0;
  private readonly intervalMs: number;
  /** Sweeps without a message after which a stream is idle. */
  private readonly idleTicks: number;
  private readonly watched = new Set<IdleWatched>();
  private timer: NodeJS.Timeout | undefined;

  constructor(timeoutMs: number) {
    this.timeoutMs = timeoutMs;
    this.intervalMs = Math.max(1, Math.ceil(timeoutMs / SWEEPS_PER_TIMEOUT));
    this.idleTicks = Math.ceil(timeoutMs / this.intervalMs);
  }

  /** Watches `stream` from now (its idleTick set to now). */
  add(stream: IdleWatched): void {
    stream.idleTick = this.tick;
    this.watched.add(stream);
    if (this.timer === undefined) {
      this.timer = setInterval(() => this.sweep(), this.intervalMs);
      this.timer.unref();
    }
  }

  delete(stream: IdleWatched): void {
    this.watched.delete(stream);
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearInterval(this.timer);
      this.timer = undefined;
    }
  }

  /** Streams watched now (tests). */
  get size(): number {
    return this.watched.size;
  }

  private sweep(): void {
    this.tick++;
    // A stream marked at tick t has seen a message since the sweep t ran: idle once idleTicks more passed.
    for (const stream of this.watched) {
      if (this.tick - stream.idleTick <= this.idleTicks) continue;
      this.delete(stream);
      try {
        stream.onIdle();
      } catch {
        // A stream's end never stops the sweep of the others (onIdle logs its own failures).
      }
    }
  }
}

const sweeps = new Map<number, IdleSweep>();

/** The process's sweep for streams with this idle timeout (one per distinct value). */
export function idleSweep(timeoutMs: number): IdleSweep {
  let sweep = sweeps.get(timeoutMs);
  if (sweep === undefined) {
    sweep = new IdleSweep(timeoutMs);
    sweeps.set(timeoutMs, sweep);
  }
  return sweep;
}
