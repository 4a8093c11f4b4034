// Envoy's load-balancing policies over a cluster's healthy hosts: round robin, least request (power
// of two random choices, Envoy's default for it) and random.
import type { LbPolicy } from '../config/model.ts';

export interface Host {
  host: string;
  port: number;
  /** Requests in flight to this host, for LEAST_REQUEST. */
  active: number;
}

export class LoadBalancer {
  private readonly policy: LbPolicy;
  private next = 0;

  constructor(policy: LbPolicy) {
    this.policy = policy;
  }

  pick(hosts: readonly Host[]): Host | undefined {
    if (hosts.length === 0) return undefined;
    switch (this.policy) {
      case 'ROUND_ROBIN':
        return hosts[this.next++ % hosts.length];
      case 'RANDOM':
        return hosts[Math.floor(Math.random() * hosts.length)];
      case 'LEAST_REQUEST': {
        const a = hosts[Math.floor(Math.random() * hosts.length)]!;
        const b = hosts[Math.floor(Math.random() * hosts.length)]!;
        return b.active < a.active ? b : a;
      }
    }
  }
}
