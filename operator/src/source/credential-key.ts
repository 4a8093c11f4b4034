// Folder mode has no operator configuration: the credential hash key comes from a Secret in the
// manifests, if there is one (docs/operations.md, Install: Steps: per installation, never the development key in production).
import { GatehouseError } from '../../../lib/errors.ts';
import { credentialKeyDataKey, credentialKeySecretName, credentialSecretLabel } from '../api/names.ts';
import type { SourceObject } from '../compile/intake.ts';

/** The operator flag that lets kube mode run with the fixed development key. */
export const insecureDevKeyFlag = '--insecure-dev-credential-key';

/**
 * Kube mode found no credential hash key and was not told to run with the public development one:
 * the snapshot would hash consumer keys with a key everybody knows. Exit 2 (the operator cannot run).
 */
export class CredentialKeyMissingError extends GatehouseError {
  constructor(operatorNamespace: string) {
    super(
      'GH_ERR_CREDENTIAL_KEY_MISSING',
      `no credential hash key: Secret ${operatorNamespace}/${credentialKeySecretName} with a "${credentialKeyDataKey}" entry and the label ${credentialSecretLabel}=true was not found. ` +
        `Create it (the Helm chart does at install: credentialHashKey.create), or pass ${insecureDevKeyFlag} true to run with the fixed, public development key (never in production)`,
      { exitCode: 2 },
    );
  }
}

/** The `key` of the Secret named gatehouse-credential-hash-key (first by namespace), if any. */
export function credentialHashKeyFrom(objects: readonly SourceObject[]): string | undefined {
  const candidates: { namespace: string; key: string }[] = [];
  for (const { object } of objects) {
    const o = object as {
      apiVersion?: unknown;
      kind?: unknown;
      metadata?: { name?: unknown; namespace?: unknown };
      data?: Record<string, unknown>;
      stringData?: Record<string, unknown>;
    } | null;
    if (o?.apiVersion !== 'v1' || o.kind !== 'Secret' || o.metadata?.name !== credentialKeySecretName) continue;
    const plain = o.stringData?.[credentialKeyDataKey];
    const encoded = o.data?.[credentialKeyDataKey];
    const key =
      typeof plain === 'string'
        ? plain
        : typeof encoded === 'string'
          ? Buffer.from(encoded, 'base64').toString('utf8')
          : undefined;
    if (key)
      candidates.push({ namespace: typeof o.metadata.namespace === 'string' ? o.metadata.namespace : 'default', key });
  }
  return candidates.sort((a, b) => (a.namespace < b.namespace ? -1 : 1))[0]?.key;
}
