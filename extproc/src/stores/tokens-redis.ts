// The Redis token store (docs/policies.md#oauthv2): Redis is the one truth for every extproc replica,
// with no local cache, so a revocation through one replica is refused by all of them on the next
// request. Whatever `onUnavailable` says, the token store fails closed (503 gatehouse.StoreUnavailable):
// a per-replica fallback could neither verify a token another replica issued nor see a revocation
// made elsewhere, and auth that silently diverges per replica is worse than a clear 503.
import type { Cluster, Redis } from 'ioredis';
import type { RedisGuard } from './redis-guard.ts';
import type { TokenStore } from './tokens.ts';
import { StoreUnavailableError } from './types.ts';

export interface RedisTokenStoreOptions {
  client: Redis | Cluster;
  guard: RedisGuard;
  /** The Redis key of a token id (redis.ts redisKey: region prefix, Cluster hash tag). */
  keyOf: (id: string) => string;
}

const failClosed = (op: string) => (): Promise<never> =>
  Promise.reject(new StoreUnavailableError(`Redis is unavailable (${op}); the token store never falls back`));

/** SETRANGE keeps the key's TTL; the EXISTS check keeps it from creating a key that never expires. */
const SET_FLAG = `if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('SETRANGE', KEYS[1], 0, ARGV[1]) return 1 end return 0`;

export function createRedisTokenStore({ client, guard, keyOf }: RedisTokenStoreOptions): TokenStore {
  return {
    get: (id) =>
      guard.run('token.get', async () => (await client.get(keyOf(id))) ?? undefined, failClosed('token.get')),
    put: (id, record, ttlMs) =>
      guard.run(
        'token.put',
        async () => {
          await client.set(keyOf(id), record, 'PX', Math.max(1, Math.ceil(ttlMs)));
        },
        failClosed('token.put'),
      ),
    // GETDEL (Redis >= 6.2) is atomic: a replayed code or a rotated refresh token is taken once.
    take: (id) =>
      guard.run('token.take', async () => (await client.getdel(keyOf(id))) ?? undefined, failClosed('token.take')),
    // One DEL per key: in Cluster mode the keys lie in different slots.
    delete: (ids) =>
      guard.run(
        'token.delete',
        async () => {
          await Promise.all(ids.map((id) => client.del(keyOf(id))));
        },
        failClosed('token.delete'),
      ),
    setFlag: (id, flag) =>
      guard.run(
        'token.flag',
        async () => (await client.eval(SET_FLAG, 1, keyOf(id), flag)) === 1,
        failClosed('token.flag'),
      ),
  };
}
