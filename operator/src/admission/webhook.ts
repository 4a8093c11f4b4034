// The admission webhook as the operator runs it: the HTTPS server on every replica, serving the
// certificate the certificates controller issues, and the leader's caBundle keeper
// (docs/operations.md, Admission webhook).
import type { Registry } from 'prom-client';
import type { Logger } from '../../../lib/log.ts';
import { defaultWebhookConfigurationName } from '../api/names.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import type { KubeRest } from '../kube/rest.ts';
import { IssuedWebhookTls, type IssuedWebhookTlsProvider } from '../certs/xds-material.ts';
import { CaBundleKeeper } from './ca-bundle.ts';
import { AdmissionServer } from './server.ts';

export interface WebhookOptions {
  /** Where the webhook listens (the chart's Service targets it; 0 picks a port). */
  port: number;
  host?: string;
  /** Its Service (default gatehouse-webhook), whose names the certificate carries. */
  serviceName?: string;
  /** More names and addresses for the certificate (an apiserver that dials an address, as in tests). */
  dns?: string[];
  ips?: string[];
  /** The ValidatingWebhookConfiguration whose caBundle the leader keeps (default gatehouse-validation). */
  configurationName?: string;
  /** How often the leader reads the configuration again whatever happened (default 60 s). */
  resyncMs?: number;
}

export interface WebhookCertificates extends IssuedWebhookTlsProvider {
  operatorCaBundle(): string | undefined;
  onOperatorCaChange(handler: () => void): () => void;
}

export interface RunningWebhook {
  port: number;
  /** Leadership gained: the keeper looks at the caBundle now. */
  enqueue(): void;
  stop(): Promise<void>;
}

export async function startWebhook(deps: {
  options: WebhookOptions;
  certs: WebhookCertificates;
  rest: KubeRest;
  log: Logger;
  isLeader: () => boolean;
  registry?: Registry;
  metrics?: KubeMetrics;
}): Promise<RunningWebhook> {
  const { options, certs, log } = deps;
  const material = new IssuedWebhookTls(log);
  material.attach(certs);
  const server = new AdmissionServer({ source: material, log, registry: deps.registry });
  const port = await server.listen(options.host ?? '0.0.0.0', options.port);
  const keeper = new CaBundleKeeper({
    rest: deps.rest,
    log,
    isLeader: deps.isLeader,
    configurationName: options.configurationName ?? defaultWebhookConfigurationName,
    caBundle: () => certs.operatorCaBundle(),
    onCaChange: (h) => certs.onOperatorCaChange(h),
    resyncMs: options.resyncMs,
    metrics: deps.metrics,
  });
  keeper.start();
  log.info({ port }, 'admission webhook serving');
  return {
    port,
    enqueue: () => keeper.enqueue(),
    async stop() {
      await keeper.stop();
      await server.close();
      material.close();
    },
  };
}
