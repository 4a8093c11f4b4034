// Our ADS server as a real third-party xDS client sees it: @grpc/grpc-js-xds resolves
// `xds:///conformance` through the Listener (API listener), RouteConfiguration, Cluster (EDS) and
// ClusterLoadAssignment we serve, and a real gRPC call reaches a test service on 127.0.0.1. Its
// bootstrap is read from the environment when the package loads, so it is imported after the server
// has a port; vitest runs each test file in its own isolate, so the global registration stays here.
import * as grpc from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Cluster_LbPolicy } from '../../../protos/gen/json/envoy.config.cluster.v3.ts';
import type { Snapshot } from '../compile/compile.ts';
import { adsConfigSource as ads, typeUrls as envoyTypeUrls } from '../compile/envoy/names.ts';
import type { XdsControlPlane } from './control-plane.ts';
import { servedWhole, startControlPlane, until } from './control-plane.test-support.ts';

const nodeId = 'grpc-js-xds-conformance';

/** The resources a gRPC client needs (what compile() emits is for Envoy, not for API listeners). */
function apiListenerSnapshot(version: string, echoPort: number, lbPolicy: Cluster_LbPolicy = 'ROUND_ROBIN'): Snapshot {
  return servedWhole({
    version,
    runtime: { version },
    secretRefs: [],
    envoy: {
      listeners: [
        {
          name: 'conformance',
          api_listener: {
            api_listener: {
              '@type': envoyTypeUrls.httpConnectionManager,
              stat_prefix: 'conformance',
              rds: { config_source: ads, route_config_name: 'conformance-routes' },
              http_filters: [{ name: 'envoy.filters.http.router', typed_config: { '@type': envoyTypeUrls.router } }],
            },
          },
        },
      ],
      routes: [
        {
          name: 'conformance-routes',
          virtual_hosts: [
            { name: 'all', domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster: 'echo' } }] },
          ],
        },
      ],
      clusters: [
        {
          name: 'echo',
          type: 'EDS',
          eds_cluster_config: { eds_config: ads },
          lb_policy: lbPolicy,
          connect_timeout: '1s',
        },
      ],
      endpoints: [
        {
          cluster_name: 'echo',
          endpoints: [
            {
              locality: { region: 'local', zone: 'a' },
              load_balancing_weight: 1,
              lb_endpoints: [
                { endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: echoPort } } } },
              ],
            },
          ],
        },
      ],
    },
  });
}

const bytes = { serialize: (b: Buffer) => b, deserialize: (b: Buffer) => b };
const echoMethod = {
  path: '/gatehouse.test.Echo/Echo',
  requestStream: false,
  responseStream: false,
  requestSerialize: bytes.serialize,
  requestDeserialize: bytes.deserialize,
  responseSerialize: bytes.serialize,
  responseDeserialize: bytes.deserialize,
};

let controlPlane: XdsControlPlane;
let echo: grpc.Server;
let echoPort: number;
let client: grpc.Client;

beforeAll(async () => {
  echo = new grpc.Server();
  echo.addService(
    { Echo: echoMethod },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, done: grpc.sendUnaryData<Buffer>) =>
        done(null, Buffer.concat([Buffer.from('echo:'), call.request])),
    },
  );
  echoPort = await new Promise<number>((resolve, reject) =>
    echo.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
  );
  const started = await startControlPlane();
  controlPlane = started.controlPlane;
  process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({
    xds_servers: [{ server_uri: started.address, channel_creds: [{ type: 'insecure' }], server_features: [] }],
    node: { id: nodeId, cluster: 'conformance', locality: {} },
  });
  const xds = await import('@grpc/grpc-js-xds');
  xds.register();
  const Echo = grpc.makeGenericClientConstructor({ Echo: echoMethod }, 'Echo');
  client = new Echo('xds:///conformance', grpc.credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  await controlPlane?.stop();
  echo?.forceShutdown();
});

function call(payload: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const unary = client.makeUnaryRequest.bind(client);
    unary(
      echoMethod.path,
      bytes.serialize,
      bytes.deserialize,
      Buffer.from(payload),
      new grpc.Metadata(),
      { deadline: Date.now() + 5000 },
      (err: grpc.ServiceError | null, value?: Buffer) => (err ? reject(err) : resolve(value!.toString())),
    );
  });
}

describe('conformance with @grpc/grpc-js-xds', () => {
  it('routes a real call through the LDS/RDS/CDS/EDS we serve, and every type is ACKed', async () => {
    controlPlane.publish(apiListenerSnapshot('c1', echoPort));
    expect(await call('hello')).toBe('echo:hello');
    await until(() => controlPlane.registry.get(nodeId)?.syncedVersion === 'c1');
    const node = controlPlane.registry.get(nodeId)!;
    expect(Object.keys(node.types).sort()).toEqual(['CDS', 'EDS', 'LDS', 'RDS']);
    for (const status of Object.values(node.types))
      expect(status).toMatchObject({ ackedVersion: 'c1', pending: false });
  });

  it("records the client's NACK with its message, keeps serving, and ACKs the next good version", async () => {
    controlPlane.publish(apiListenerSnapshot('c2-bad', echoPort, 'MAGLEV'));
    await until(() => controlPlane.registry.get(nodeId)?.types.CDS?.lastNack !== undefined);
    const cds = controlPlane.registry.get(nodeId)!.types.CDS!;
    expect(cds.lastNack).toMatchObject({ version: 'c2-bad' });
    expect(cds.lastNack!.message).toMatch(/lb_policy/);
    expect(cds.ackedVersion).toBe('c1');
    expect(await call('still')).toBe('echo:still');
    controlPlane.publish(apiListenerSnapshot('c3', echoPort, 'ROUND_ROBIN'));
    await until(() => controlPlane.registry.get(nodeId)?.types.CDS?.ackedVersion === 'c3');
    expect(await call('again')).toBe('echo:again');
  });
});
