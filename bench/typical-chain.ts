// The typical chain the extproc benchmarks measure (bench:extproc, bench:tracing, bench:workers,
// bench:latency, bench:rss): route bench/chain runs AccessControl + VerifyAPIKey + JSONThreatProtection +
// AssignMessage, route bench/empty no policy. One fixture, so that the figures of the benchmarks are of
// the same work.
import { createHmac } from 'node:crypto';
import type { DataPlane } from '../protos/gen/gatehouse/v1/DataPlane.ts';
import type { RuntimeSnapshot } from '../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import { BENCH_API_KEY } from './load-driver.ts';

/** The typical chain's request body: a small JSON order, as every bench that drives the chain sends it. */
export const TYPICAL_CHAIN_BODY = JSON.stringify({
  order: {
    id: 17,
    items: [
      { sku: 'a', qty: 1 },
      { sku: 'b', qty: 2 },
    ],
    note: 'bench',
  },
});
export const BENCH_HASH_KEY = '00112233445566778899aabbccddeeff';
export { BENCH_API_KEY };

const policy = (type: string, config: unknown) => ({ type, enabled: true, configJson: JSON.stringify(config) });

/** The snapshot; `dataPlane` adds a DataPlane (e.g. with analytics). */
export function typicalChainSnapshot(o: { dataPlane?: DataPlane } = {}): RuntimeSnapshot {
  const keyHash = createHmac('sha256', Buffer.from(BENCH_HASH_KEY, 'hex')).update(BENCH_API_KEY).digest('hex');
  return {
    version: 'bench',
    credentialHashKey: BENCH_HASH_KEY,
    ...(o.dataPlane ? { dataPlanes: [o.dataPlane] } : {}),
    products: [{ namespace: 'bench', name: 'basic', proxies: ['chain'], resources: ['/**'], approval: 'Auto' }],
    apps: [
      {
        namespace: 'bench',
        name: 'app',
        status: 'Approved',
        products: [{ name: 'basic', status: 'Approved' }],
        credentials: [{ keyHash, status: 'Approved' }],
      },
    ],
    proxies: [
      { namespace: 'bench', name: 'empty', route: 'bench/empty', basePath: '/empty' },
      {
        namespace: 'bench',
        name: 'chain',
        route: 'bench/chain',
        basePath: '/chain',
        policies: {
          'verify-key': policy('VerifyAPIKey', { apiKey: { ref: 'request.header.x-api-key' } }),
          'check-ip': policy('AccessControl', {
            noRuleMatchAction: 'Allow',
            rules: [{ action: 'Deny', sourceAddresses: ['203.0.113.0/24'] }],
          }),
          'json-guard': policy('JSONThreatProtection', {
            containerDepth: 10,
            arrayElementCount: 100,
            objectEntryCount: 50,
            objectEntryNameLength: 64,
            stringValueLength: 1024,
          }),
          'add-headers': policy('AssignMessage', {
            assignTo: 'request',
            set: { headers: { 'x-served-by': 'gatehouse', 'x-app': '{developer.app.name}' } },
            remove: { headers: ['x-internal'] },
          }),
        },
        flows: {
          preFlow: {
            request: [
              { policy: 'check-ip' },
              { policy: 'verify-key' },
              { policy: 'json-guard' },
              { policy: 'add-headers' },
            ],
          },
        },
      },
    ],
  };
}
