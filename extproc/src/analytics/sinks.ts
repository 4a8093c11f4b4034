// The analytics sinks (docs/operations.md#analytics): JSON lines appended to a file, batches POSTed as a
// JSON array, and OTLP logs over gRPC (one LogRecord per record, its fields as attributes), the
// OpenTelemetry logs SDK and exporter loaded only when an OTLP sink is configured, as tracing does.
// The HTTP sink's URL is the platform team's (the DataPlane is theirs): it is trusted, so the callout
// address rules (egress/client.ts) do not apply, and a cluster-internal collector is fine.
import { open, type FileHandle } from 'node:fs/promises';
import { checkServerIdentity } from 'node:tls';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { Analytics__Output } from '../../../protos/gen/gatehouse/v1/Analytics.ts';
import type { AnalyticsOtlpSink__Output } from '../../../protos/gen/gatehouse/v1/AnalyticsOtlpSink.ts';
import { validateMaterial, type TlsMaterial } from '../../../lib/tls/material.ts';
import type { AnalyticsRecord } from './record.ts';

export interface AnalyticsSink {
  readonly kind: 'otlp' | 'file' | 'http';
  /** Resolves once the batch is written or sent; rejects when it failed. */
  export(batch: AnalyticsRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** How long an HTTP or OTLP export may take. */
const exportTimeoutMs = 5000;

/** Builds the configured sinks; throws (nothing started) when one cannot be, e.g. bad TLS material. */
export async function createSinks(
  config: Analytics__Output,
  secrets: Record<string, string>,
): Promise<AnalyticsSink[]> {
  const sinks: AnalyticsSink[] = [];
  try {
    if (config.file?.path) sinks.push(await fileSink(config.file.path));
    if (config.http?.url) sinks.push(httpSink(config.http.url, config.http.headerSecrets, secrets));
    if (config.otlp?.endpoint) sinks.push(await otlpSink(config.otlp, secrets));
  } catch (err) {
    await Promise.allSettled(sinks.map((s) => s.close()));
    throw err;
  }
  return sinks;
}

async function fileSink(path: string): Promise<AnalyticsSink> {
  const file: FileHandle = await open(path, 'a', 0o640);
  return {
    kind: 'file',
    export: async (batch) => {
      await file.appendFile(batch.map((r) => `${JSON.stringify(r)}\n`).join(''));
    },
    close: () => file.close(),
  };
}

function httpSink(url: string, headerSecrets: Record<string, string>, secrets: Record<string, string>): AnalyticsSink {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [name, id] of Object.entries(headerSecrets)) headers[name] = secrets[id] ?? '';
  return {
    kind: 'http',
    export: async (batch) => {
      const res = await fetch(url, {
        method: 'POST',
        headers,
        body: JSON.stringify(batch),
        redirect: 'error',
        signal: AbortSignal.timeout(exportTimeoutMs),
      });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`the HTTP sink answered ${res.status}`);
    },
    close: () => Promise.resolve(),
  };
}

/** The collector's TLS material from the snapshot's Secret values, checked. */
function otlpMaterial(otlp: AnalyticsOtlpSink__Output, secrets: Record<string, string>): TlsMaterial | undefined {
  if (otlp.insecure) return undefined;
  const value = (id: string) => (id ? Buffer.from(secrets[id] ?? '') : undefined);
  const ca = value(otlp.caSecret);
  const cert = value(otlp.certSecret);
  const key = value(otlp.keySecret);
  return validateMaterial(
    { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) },
    { ca: otlp.caSecret, cert: otlp.certSecret, key: otlp.keySecret },
  );
}

async function otlpSink(otlp: AnalyticsOtlpSink__Output, secrets: Record<string, string>): Promise<AnalyticsSink> {
  const material = otlpMaterial(otlp, secrets);
  const [grpc, sdk, exporterPackage, resources, { ExportResultCode }] = await Promise.all([
    import('@grpc/grpc-js'),
    import('@opentelemetry/sdk-logs'),
    import('@opentelemetry/exporter-logs-otlp-grpc'),
    import('@opentelemetry/resources'),
    import('@opentelemetry/core'),
  ]);
  // serverName: the collector's certificate is checked against it instead of the endpoint's host.
  const serverName = otlp.serverName;
  const credentials = material
    ? grpc.credentials.createSsl(
        material.ca ?? null,
        material.key ?? null,
        material.cert ?? null,
        serverName ? { checkServerIdentity: (_host, cert) => checkServerIdentity(serverName, cert) } : {},
      )
    : grpc.credentials.createInsecure();
  const exporter = new exporterPackage.OTLPLogExporter({
    url: `${material ? 'https' : 'http'}://${otlp.endpoint}`,
    credentials,
    timeoutMillis: exportTimeoutMs,
  });
  // The records emitted for one batch are collected here and exported together.
  const collected: ReadableLogRecord[] = [];
  const provider = new sdk.LoggerProvider({
    resource: resources.resourceFromAttributes({ 'service.name': 'gatehouse-extproc' }),
    processors: [
      {
        onEmit: (record) => void collected.push(record),
        forceFlush: () => Promise.resolve(),
        shutdown: () => Promise.resolve(),
      },
    ],
  });
  const logger = provider.getLogger('gatehouse.analytics');
  return {
    kind: 'otlp',
    export: (batch) => {
      collected.length = 0;
      for (const r of batch) {
        logger.emit({
          timestamp: r.client_received_start_timestamp,
          eventName: 'gatehouse.analytics',
          body: 'analytics',
          attributes: r,
        });
      }
      const records = collected.splice(0);
      return new Promise<void>((resolve, reject) =>
        exporter.export(records, (result) =>
          result.code === ExportResultCode.SUCCESS
            ? resolve()
            : reject(result.error ?? new Error('OTLP export failed')),
        ),
      );
    },
    close: async () => {
      await provider.shutdown().catch(() => undefined);
      await exporter.shutdown().catch(() => undefined);
    },
  };
}
