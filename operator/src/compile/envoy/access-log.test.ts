// The compiled access log (docs/operations.md#access-logs): on by default with every catalogue field,
// a DataPlane's spec.accessLog picks fields or turns it off, the path never carries the query, and the
// ext_proc filter accepts extproc's dynamic metadata namespace that the proxy/app/fault fields read.
import { describe, expect, it } from 'vitest';
import type { Listener } from '../../../../protos/gen/json/envoy.config.listener.v3.ts';
import { accessLogFieldNames } from '../../api/dataplane.ts';
import { encodeEnvoyJson, envoyCollectionTypes } from '../../xds/envoy-codec.ts';
import { compile } from '../compile.ts';
import { accessLogCatalogue, gatehouseMetadataNamespace } from './access-log.ts';
import { typeUrls, unpack } from './names.ts';

const dataPlane = (accessLog: unknown) => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'edge', namespace: 'gatehouse-system' },
    spec: accessLog === undefined ? {} : { accessLog },
  },
});

function hcmOf(listeners: Listener[]) {
  const l = listeners[0]!;
  return unpack(l.filter_chains![0]!.filters![0]!.typed_config, typeUrls.httpConnectionManager)!;
}

function listenersFor(accessLog: unknown): Listener[] {
  const { snapshot, errors } = compile([dataPlane(accessLog)], { credentialHashKey: 'k' });
  expect(errors).toEqual([]);
  return snapshot.envoy.listeners;
}

describe('compiled access log', () => {
  it('is on by default: StdoutAccessLog with a json_format of every catalogue field, and encodes for Envoy', () => {
    const listeners = listenersFor(undefined);
    const hcm = hcmOf(listeners);
    expect(hcm.access_log).toHaveLength(1);
    const log = hcm.access_log![0]!;
    expect(log.name).toBe('envoy.access_loggers.stdout');
    const stdout = unpack(log.typed_config, typeUrls.stdoutAccessLog)!;
    const format = stdout.log_format!.json_format as Record<string, string>;
    expect(Object.keys(format)).toEqual(accessLogFieldNames.map((f) => accessLogCatalogue[f][0]));
    expect(format.path).toBe('%PATH(NQ:ORIG_OR_PATH)%');
    expect(format.proxy).toBe(`%DYNAMIC_METADATA(${gatehouseMetadataNamespace}:proxy)%`);
    expect(() => encodeEnvoyJson(envoyCollectionTypes.listeners, listeners[0]!)).not.toThrow();
  });

  it('never logs the query or a credential header: no operator reads the full :path, a query parameter or x-api-key', () => {
    for (const [, operator] of Object.values(accessLogCatalogue)) {
      expect(operator).not.toMatch(/REQ\(:PATH\)|QUERY_PARAM|PATH\(WQ|%PATH%|PATH\(\)|API-KEY|AUTHORIZATION|COOKIE/i);
    }
  });

  it('keeps only the fields a DataPlane names, in its order; enabled false leaves access_log out', () => {
    const hcm = hcmOf(listenersFor({ fields: ['status', 'requestId', 'faultCode'] }));
    const format = unpack(hcm.access_log![0]!.typed_config, typeUrls.stdoutAccessLog)!.log_format!.json_format;
    expect(format).toEqual({
      status: '%RESPONSE_CODE%',
      request_id: '%REQ(X-REQUEST-ID)%',
      fault_code: `%DYNAMIC_METADATA(${gatehouseMetadataNamespace}:fault_code)%`,
    });
    expect(hcmOf(listenersFor({ enabled: false })).access_log).toBeUndefined();
  });

  it('an unknown field is refused with the object and the field named', () => {
    const { errors } = compile([dataPlane({ fields: ['status', 'apiKey'] })], { credentialHashKey: 'k' });
    expect(errors).toMatchObject([{ kind: 'DataPlane', name: 'edge', field: 'spec.accessLog.fields[1]' }]);
    expect(errors[0]!.message).toMatch(/must be one of startTime, /);
  });

  it('the ext_proc filter accepts the gatehouse dynamic metadata namespace, and no other', () => {
    const hcm = hcmOf(listenersFor(undefined));
    const extProc = unpack(hcm.http_filters![0]!.typed_config, typeUrls.extProc)!;
    expect(extProc.metadata_options).toEqual({ receiving_namespaces: { untyped: [gatehouseMetadataNamespace] } });
  });
});
