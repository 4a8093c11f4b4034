// The leader keeps the ValidatingWebhookConfiguration's caBundle equal to the operator CA's trust
// (every CA in it: during a rotation the old and the new one), so the apiserver always verifies the
// webhook's certificate, whichever CA signed it. Level-triggered: on every operator CA change, on
// leadership and every resync period it reads the configuration and patches only the webhooks whose
// caBundle differs (a JSON patch that tests each webhook's name, so a reordered list is never
// patched blindly). The configuration itself belongs to whoever installed it (the chart); a missing
// one is not an error.
import type { Logger } from '../../../lib/log.ts';
import { isNotFound, resourcePath, type KubeRest } from '../kube/rest.ts';
import type { KubeMetrics } from '../kube/metrics.ts';
import { WorkQueue } from '../kube/workqueue.ts';
import { WebhookCaBundleError } from './errors.ts';

export interface CaBundleKeeperOptions {
  rest: KubeRest;
  log: Logger;
  isLeader: () => boolean;
  /** The ValidatingWebhookConfiguration (cluster-scoped) whose webhooks point at this operator. */
  configurationName: string;
  /** The operator CA's trust as PEM, or undefined before there is a CA. */
  caBundle: () => string | undefined;
  /** Called when the CA changes; returns the function that stops listening. */
  onCaChange: (handler: () => void) => () => void;
  /** Look again this often whatever happened (someone edits the configuration; default 60 s). */
  resyncMs?: number;
  metrics?: KubeMetrics;
}

interface WebhookConfiguration {
  metadata?: { name?: string; resourceVersion?: string };
  webhooks?: { name?: string; clientConfig?: { caBundle?: string } }[];
}

const key = 'caBundle';

/** JSON patch operations that set caBundle on every webhook where it differs (empty: nothing to do). */
export function caBundlePatch(config: WebhookConfiguration, caBundle: string): unknown[] {
  const ops: unknown[] = [];
  (config.webhooks ?? []).forEach((webhook, i) => {
    if (webhook.clientConfig?.caBundle === caBundle) return;
    ops.push({ op: 'test', path: `/webhooks/${i}/name`, value: webhook.name });
    ops.push(
      webhook.clientConfig
        ? { op: 'add', path: `/webhooks/${i}/clientConfig/caBundle`, value: caBundle }
        : { op: 'add', path: `/webhooks/${i}/clientConfig`, value: { caBundle } },
    );
  });
  return ops;
}

export class CaBundleKeeper {
  private readonly o: CaBundleKeeperOptions;
  private readonly log: Logger;
  private readonly queue: WorkQueue<string>;
  private readonly path: string;
  private unsubscribe: (() => void) | undefined;
  private missingLogged = false;

  constructor(options: CaBundleKeeperOptions) {
    this.o = options;
    this.log = options.log.child({ controller: 'webhook-ca-bundle' });
    this.queue = new WorkQueue<string>({ name: 'webhook-ca-bundle', log: this.log, metrics: options.metrics });
    this.path = resourcePath({
      group: 'admissionregistration.k8s.io',
      version: 'v1',
      resource: 'validatingwebhookconfigurations',
      name: options.configurationName,
    });
  }

  start(): void {
    this.unsubscribe = this.o.onCaChange(() => this.queue.add(key));
    this.queue.run(() => this.reconcile(), { concurrency: 1 });
    this.queue.add(key);
  }

  /** Leadership gained: look now. */
  enqueue(): void {
    this.queue.add(key);
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    await this.queue.shutDown();
  }

  async reconcile(): Promise<{ requeueAfterMs: number }> {
    const resync = { requeueAfterMs: this.o.resyncMs ?? 60_000 };
    if (!this.o.isLeader()) return resync;
    const pem = this.o.caBundle();
    if (pem === undefined) return resync; // the CA Secret's event brings us back
    const name = this.o.configurationName;
    let config: WebhookConfiguration;
    try {
      config = await this.o.rest.get<WebhookConfiguration>(this.path);
    } catch (err) {
      if (isNotFound(err)) {
        if (!this.missingLogged)
          this.log.info({ configuration: name }, 'ValidatingWebhookConfiguration not found; no caBundle to keep');
        this.missingLogged = true;
        return resync;
      }
      throw new WebhookCaBundleError(name, `cannot be read: ${(err as Error).message}`, err);
    }
    this.missingLogged = false;
    const caBundle = Buffer.from(pem).toString('base64');
    const ops = caBundlePatch(config, caBundle);
    if (ops.length === 0) return resync;
    try {
      await this.o.rest.request('PATCH', this.path, { body: ops, contentType: 'application/json-patch+json' });
    } catch (err) {
      // A test op that failed (the list changed under us) is a 422: the queue retries with a fresh read.
      throw new WebhookCaBundleError(name, `caBundle could not be patched: ${(err as Error).message}`, err);
    }
    this.log.info({ configuration: name, webhooks: ops.length / 2 }, 'webhook caBundle updated');
    return resync;
  }
}
