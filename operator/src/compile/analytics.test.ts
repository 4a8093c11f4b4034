// spec.analytics and spec.tracing.tls in the compiler (docs/operations.md#analytics, #tracing): the
// runtime snapshot's DataPlane.analytics with Secret values only in policy_secrets, a missing Secret
// or key refused on the field, and the collector cluster's UpstreamTlsContext.
import { describe, expect, it } from 'vitest';
import { compile } from './compile.ts';

const dataPlane = (spec: unknown) => ({
  object: {
    apiVersion: 'gatehouse.dev/v1alpha1',
    kind: 'DataPlane',
    metadata: { name: 'edge', namespace: 'ops' },
    spec,
  },
});
const secret = (name: string, stringData: Record<string, string>) => ({
  object: { apiVersion: 'v1', kind: 'Secret', metadata: { name, namespace: 'ops' }, stringData },
});

describe('spec.analytics', () => {
  const spec = {
    analytics: {
      sinks: {
        file: { path: '/var/log/ax.jsonl' },
        http: {
          url: 'https://ingest.example/ax',
          headers: [{ name: 'X-Token', secretKeyRef: { name: 'ax', key: 'token' } }],
        },
        otlp: { endpoint: 'otel.example:4317', tls: { caSecretRef: { name: 'otel-ca' }, serverName: 'otel.example' } },
      },
      flushInterval: '2s',
    },
  };

  it('compiles the sinks with defaults; Secret values stand only in policy_secrets', () => {
    const result = compile(
      [dataPlane(spec), secret('ax', { token: 'tok-123' }), secret('otel-ca', { 'ca.crt': 'PEM' })],
      { credentialHashKey: 'k' },
    );
    expect(result.errors).toEqual([]);
    const runtime = result.snapshot.runtime;
    expect(runtime.dataPlanes![0]!.analytics).toEqual({
      queueSize: 10000,
      batchSize: 500,
      flushIntervalMs: 2000,
      file: { path: '/var/log/ax.jsonl' },
      http: { url: 'https://ingest.example/ax', headerSecrets: { 'x-token': 'ops/ax/token' } },
      otlp: {
        endpoint: 'otel.example:4317',
        insecure: false,
        caSecret: 'ops/otel-ca/ca.crt',
        serverName: 'otel.example',
      },
    });
    expect(runtime.policySecrets).toMatchObject({ 'ops/ax/token': 'tok-123', 'ops/otel-ca/ca.crt': 'PEM' });
    expect(JSON.stringify(runtime.dataPlanes)).not.toContain('tok-123');
  });

  it('refuses a missing Secret or key on its field, and enabled: false compiles no analytics', () => {
    const errors = compile([dataPlane(spec), secret('ax', { other: 'x' })], { credentialHashKey: 'k' }).errors.map(
      (e) => e.field,
    );
    expect(errors).toEqual(
      expect.arrayContaining([
        'spec.analytics.sinks.otlp.tls.caSecretRef.name',
        'spec.analytics.sinks.http.headers[0].secretKeyRef',
      ]),
    );
    const off = compile([dataPlane({ analytics: { ...spec.analytics, enabled: false } })], { credentialHashKey: 'k' });
    expect(off.errors).toEqual([]);
    expect(off.snapshot.runtime.dataPlanes![0]!.analytics).toBeUndefined();
  });
});

describe('spec.tracing.tls', () => {
  it('gives the collector cluster an UpstreamTlsContext: CA and client certificate over SDS, ALPN h2, SNI, SAN', () => {
    const result = compile(
      [
        dataPlane({
          tracing: {
            collector: { address: 'otel.example:4317' },
            tls: { caSecretRef: { name: 'otel-ca' }, clientCertificateSecretRef: { name: 'otel-client' } },
          },
        }),
        secret('otel-ca', { 'ca.crt': 'PEM' }),
        secret('otel-client', { 'tls.crt': 'PEM', 'tls.key': 'KEY' }),
      ],
      { credentialHashKey: 'k' },
    );
    expect(result.errors).toEqual([]);
    const cluster = result.snapshot.envoy.clusters.find((c) => String(c.name).startsWith('gatehouse-otel/'))!;
    expect(cluster.transport_socket).toMatchObject({
      name: 'envoy.transport_sockets.tls',
      typed_config: {
        sni: 'otel.example',
        common_tls_context: {
          alpn_protocols: ['h2'],
          tls_certificate_sds_secret_configs: [{ name: 'tls:ops/otel-client' }],
          combined_validation_context: {
            default_validation_context: {
              match_typed_subject_alt_names: [{ san_type: 'DNS', matcher: { exact: 'otel.example' } }],
            },
            validation_context_sds_secret_config: { name: 'ca:ops/otel-ca' },
          },
        },
      },
    });
    expect(result.snapshot.secretRefs.map((r) => r.name)).toEqual(['ca:ops/otel-ca', 'tls:ops/otel-client']);
  });

  it('refuses a CA Secret that does not exist', () => {
    const errors = compile(
      [dataPlane({ tracing: { collector: { address: 'otel.example:4317' }, tls: { caSecretRef: { name: 'nope' } } } })],
      { credentialHashKey: 'k' },
    ).errors.map((e) => e.field);
    expect(errors).toContain('spec.tracing.tls.caSecretRef.name');
  });
});
