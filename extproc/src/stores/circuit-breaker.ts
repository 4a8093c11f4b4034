// Stops waiting on a store that is down (docs/architecture.md#stores): after `failureThreshold` consecutive failures the
// circuit opens and calls fail at once; after `openMs` one probe call is let through (half-open) and
// its outcome closes or re-opens the circuit.
export type CircuitState = 'closed' | 'open' | 'half-open';

export interface CircuitBreakerOptions {
  failureThreshold: number;
  openMs: number;
  clock?: () => number;
  onStateChange?: (state: CircuitState) => void;
}

export class CircuitBreaker {
  readonly #options: CircuitBreakerOptions;
  readonly #clock: () => number;
  #state: CircuitState = 'closed';
  #failures = 0;
  #openedAt = 0;
  #probeInFlight = false;

  constructor(options: CircuitBreakerOptions) {
    this.#options = options;
    this.#clock = options.clock ?? Date.now;
  }

  get state(): CircuitState {
    return this.#state;
  }

  /** Whether a call may go to the store now; a true answer in half-open state is the probe. */
  allow(): boolean {
    if (this.#state === 'closed') return true;
    if (this.#state === 'open') {
      if (this.#clock() - this.#openedAt < this.#options.openMs) return false;
      this.#transition('half-open');
    }
    if (this.#probeInFlight) return false;
    this.#probeInFlight = true;
    return true;
  }

  success(): void {
    this.#failures = 0;
    this.#probeInFlight = false;
    if (this.#state !== 'closed') this.#transition('closed');
  }

  failure(): void {
    this.#failures++;
    this.#probeInFlight = false;
    if (this.#state === 'half-open' || (this.#state === 'closed' && this.#failures >= this.#options.failureThreshold)) {
      this.#openedAt = this.#clock();
      this.#transition('open');
    }
  }

  #transition(state: CircuitState): void {
    this.#state = state;
    this.#options.onStateChange?.(state);
  }
}
