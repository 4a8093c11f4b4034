import { describe, expect, it } from 'vitest';
import { parseRedisUrl } from './redis-connection.ts';

describe('parseRedisUrl', () => {
  it('reads TLS, credentials, seeds, db and the Sentinel master name', () => {
    expect(parseRedisUrl('redis://127.0.0.1:6380')).toEqual({
      tls: false,
      username: undefined,
      password: undefined,
      hosts: [{ host: '127.0.0.1', port: 6380 }],
      db: 0,
      masterName: undefined,
    });
    expect(parseRedisUrl('rediss://app:p%40ss@redis.example:6390/2')).toMatchObject({
      tls: true,
      username: 'app',
      password: 'p@ss',
      db: 2,
    });
    expect(parseRedisUrl('redis://:secret@s1:26379,s2/?name=mymaster', 26_379)).toMatchObject({
      password: 'secret',
      hosts: [
        { host: 's1', port: 26_379 },
        { host: 's2', port: 26_379 },
      ],
      masterName: 'mymaster',
    });
  });

  it('rejects malformed URLs without echoing the password', () => {
    expect(() => parseRedisUrl('http://x')).toThrow(/redis\[s\]:\/\//);
    expect(() => parseRedisUrl('redis://:hunter2@host:99999')).toThrow(
      expect.objectContaining({ code: 'GH_ERR_REDIS_URL', message: expect.not.stringContaining('hunter2') as unknown }),
    );
  });
});
