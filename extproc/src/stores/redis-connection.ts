// Connects to Redis as DataPlane.redis says (docs/architecture.md#the-api): Standalone, Sentinel or Cluster, TLS with
// rediss://, credentials from the URL. Sentinel and Cluster URLs list several seeds:
// redis://:password@host1:26379,host2:26379/0?name=mymaster (name = the Sentinel master set).
import { Cluster, Redis, type RedisOptions } from 'ioredis';
import { GatehouseError } from '../../../lib/errors.ts';
import { SCRIPTS } from './redis-scripts.ts';

export type RedisMode = 'Standalone' | 'Sentinel' | 'Cluster';

export class RedisUrlError extends GatehouseError {
  constructor(message: string) {
    super('GH_ERR_REDIS_URL', message);
  }
}

export interface RedisEndpoint {
  tls: boolean;
  username: string | undefined;
  password: string | undefined;
  hosts: Array<{ host: string; port: number }>;
  db: number;
  /** Sentinel master set name (`?name=`). */
  masterName: string | undefined;
}

const URL_SHAPE = /^(rediss?):\/\/(?:([^:@/]*)(?::([^@/]*))?@)?([^/?]+)(?:\/(\d*))?(?:\?(.*))?$/;

/** Parses a Redis URL; the password never appears in the error messages. */
export function parseRedisUrl(url: string, defaultPort = 6379): RedisEndpoint {
  const m = URL_SHAPE.exec(url);
  if (!m)
    throw new RedisUrlError(
      'the Redis URL must look like redis[s]://[user:password@]host:port[,host:port...][/db][?name=master]',
    );
  const [, scheme, user, password, hostList, db, query] = m;
  // The host list group is not optional: it participates in every match.
  const hosts = hostList!.split(',').map((entry) => {
    const at = entry.lastIndexOf(':');
    const host = at < 0 ? entry : entry.slice(0, at);
    const port = at < 0 ? defaultPort : Number(entry.slice(at + 1));
    if (host === '' || !Number.isInteger(port) || port < 1 || port > 65_535)
      throw new RedisUrlError(`the Redis URL names a bad host "${entry}"`);
    return { host: host.replace(/^\[|\]$/g, ''), port };
  });
  return {
    tls: scheme === 'rediss',
    username: user ? decodeURIComponent(user) : undefined,
    password: password ? decodeURIComponent(password) : undefined,
    hosts,
    db: db ? Number(db) : 0,
    masterName: new URLSearchParams(query ?? '').get('name') ?? undefined,
  };
}

export interface ConnectOptions {
  url: string;
  mode: RedisMode;
  connectTimeoutMs: number;
}

/** Reconnects forever with a short, capped backoff, so a restarted Redis is picked up quickly. */
const reconnectDelay = (attempt: number): number => Math.min(attempt * 100, 1_000);

export function connectRedis(options: ConnectOptions): Redis | Cluster {
  const endpoint = parseRedisUrl(options.url, options.mode === 'Sentinel' ? 26_379 : 6379);
  const first = endpoint.hosts[0];
  if (first === undefined) throw new RedisUrlError('the Redis URL names no host');
  const common: RedisOptions = {
    username: endpoint.username,
    password: endpoint.password,
    tls: endpoint.tls ? { servername: first.host } : undefined,
    connectTimeout: options.connectTimeoutMs,
    // A dead Redis must fail calls at once, not queue them until it is back (docs/architecture.md#stores: no hanging).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    enableAutoPipelining: true,
    lazyConnect: false,
  };
  let client: Redis | Cluster;
  if (options.mode === 'Cluster') {
    client = new Cluster(endpoint.hosts, {
      redisOptions: { ...common, enableAutoPipelining: undefined },
      enableAutoPipelining: true,
      enableOfflineQueue: false,
      clusterRetryStrategy: reconnectDelay,
    });
  } else if (options.mode === 'Sentinel') {
    if (endpoint.masterName === undefined) throw new RedisUrlError('a Sentinel Redis URL needs ?name=MASTER_SET');
    client = new Redis({
      ...common,
      sentinels: endpoint.hosts,
      name: endpoint.masterName,
      sentinelUsername: endpoint.username,
      sentinelPassword: endpoint.password,
      db: endpoint.db,
      retryStrategy: reconnectDelay,
      sentinelRetryStrategy: reconnectDelay,
    });
  } else {
    client = new Redis({
      ...common,
      host: first.host,
      port: first.port,
      db: endpoint.db,
      retryStrategy: reconnectDelay,
    });
  }
  for (const [name, script] of Object.entries(SCRIPTS)) client.defineCommand(name, script);
  return client;
}
