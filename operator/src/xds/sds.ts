// SDS: the Secrets the compiled Envoy resources name (compile lists them in snapshot.secretRefs:
// `tls:<ns>/<name>` holds tls.crt + tls.key, `ca:<ns>/<name>` ca.crt), as
// envoy.extensions.transport_sockets.tls.v3.Secret resources served over ADS. Their material is never
// part of the compiled snapshot (whose JSON is written to files, logs and /debug): the kube and folder
// wirings look them up from their Secret caches after each compile, and the control plane serves them
// beside the snapshot. Material that does not parse or whose key does not match its certificate is
// left out (and reported), so the last good one keeps serving.
import { createHmac, randomBytes } from 'node:crypto';
import { GatehouseError } from '../../../lib/errors.ts';
import { validateMaterial } from '../../../lib/tls/material.ts';
import type { Secret } from '../../../protos/gen/json/envoy.extensions.transport_sockets.tls.v3.ts';
import type { SdsSecretRef, Snapshot } from '../compile/compile.ts';
import { encodeStrict, envoyRoot } from './envoy-codec.ts';
import type { EncodedResource } from './resources.ts';
import { typeUrls } from './protos.ts';

/** A Kubernetes Secret as the caches hold it: `data` base64, `stringData` plain (folder mode). */
export interface SecretLike {
  data?: Readonly<Record<string, string>> | null;
  stringData?: Readonly<Record<string, string>> | null;
}

export type SecretLookup = (namespace: string, name: string) => SecretLike | undefined;

/** An Envoy Secret resource in the proto3 JSON mapping. */
export type SdsSecret = Secret;

export interface SdsProblem {
  /** The SDS name ("tls:ns/name"). */
  resource: string;
  /** The Kubernetes Secret ("ns/name"). */
  secret: string;
  reason: string;
}

/** A Secret resource that does not encode; the message names the resource only, never its content. */
export class SdsEncodeError extends GatehouseError {
  constructor(name: string) {
    super(
      'GH_ERR_XDS_SECRET_ENCODE',
      `SDS secret ${name} does not encode as envoy.extensions.transport_sockets.tls.v3.Secret`,
    );
  }
}

const secretTypeName = 'envoy.extensions.transport_sockets.tls.v3.Secret';

/** A key of a Secret as bytes, from data (base64) or stringData. */
function secretValue(secret: SecretLike, key: string): Buffer | undefined {
  const plain = secret.stringData?.[key];
  if (typeof plain === 'string') return Buffer.from(plain, 'utf8');
  const encoded = secret.data?.[key];
  return typeof encoded === 'string' ? Buffer.from(encoded, 'base64') : undefined;
}

const inline = (bytes: Buffer) => ({ inline_bytes: bytes.toString('base64') });

/** The Envoy Secret `ref` names, or the reason there is none. */
function secretFor(ref: SdsSecretRef, lookup: SecretLookup): SdsSecret | { problem: SdsProblem } {
  const resource = ref.name;
  const secretName = `${ref.namespace}/${ref.secret}`;
  const problem = (reason: string) => ({ problem: { resource, secret: secretName, reason } });
  const secret = lookup(ref.namespace, ref.secret);
  if (!secret) return problem('Secret not found');
  try {
    if (ref.holds === 'certificate') {
      const cert = secretValue(secret, 'tls.crt');
      const key = secretValue(secret, 'tls.key');
      if (!cert || !key) return problem('the Secret has no tls.crt and tls.key');
      // The chain as checked, one PEM block per line (a badly concatenated chain would lose its intermediates).
      const checked = validateMaterial(
        { cert, key },
        { cert: `Secret ${secretName} tls.crt`, key: `Secret ${secretName} tls.key` },
      );
      return {
        name: resource,
        tls_certificate: { certificate_chain: inline(checked.cert!), private_key: inline(key) },
      };
    }
    const ca = secretValue(secret, 'ca.crt');
    if (!ca) return problem('the Secret has no ca.crt');
    const checked = validateMaterial({ ca }, { ca: `Secret ${secretName} ca.crt` });
    return { name: resource, validation_context: { trusted_ca: inline(checked.ca!) } };
  } catch (err) {
    return problem((err as Error).message);
  }
}

/**
 * The SDS secrets `snapshot`'s Envoy resources refer to (its secretRefs), looked up with
 * `lookupSecret` (the kube source's Secret cache, or the folder's Secret documents). Secrets that are
 * missing or unusable are left out and reported to `onProblem` (names and reasons only); Envoy keeps
 * warming, or keeps the last good secret, until they are fixed.
 */
export function sdsSecretsFor(
  snapshot: Pick<Snapshot, 'secretRefs'>,
  lookupSecret: SecretLookup,
  onProblem?: (p: SdsProblem) => void,
): Map<string, SdsSecret> {
  const out = new Map<string, SdsSecret>();
  for (const ref of snapshot.secretRefs) {
    const result = secretFor(ref, lookupSecret);
    if ('problem' in result) onProblem?.(result.problem);
    else out.set(ref.name, result);
  }
  return out;
}

/**
 * Encodes secrets with the strict encoder. Resource versions are keyed hashes (HMAC with a key that
 * never leaves this process), so no hash of key material is handed out in xDS versions or /debug.
 */
export class SecretEncoder {
  private readonly hmacKey = randomBytes(32);

  encode(secrets: ReadonlyMap<string, SdsSecret>): Map<string, EncodedResource> {
    const resources = new Map<string, EncodedResource>();
    for (const [name, json] of [...secrets].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      let value: Buffer;
      try {
        value = Buffer.from(encodeStrict(envoyRoot(), secretTypeName, json));
      } catch {
        throw new SdsEncodeError(name);
      }
      const version = createHmac('sha256', this.hmacKey)
        .update(name)
        .update('\0')
        .update(value)
        .digest('hex')
        .slice(0, 16);
      resources.set(name, { name, version, any: { type_url: typeUrls.secret, value } });
    }
    return resources;
  }
}

/** A lookup over source objects (the folder's documents, or the kube source's objects): their v1 Secrets. */
export function secretLookupFromObjects(objects: readonly { object: unknown }[]): SecretLookup {
  const secrets = new Map<string, SecretLike>();
  for (const { object } of objects) {
    const o = object as {
      apiVersion?: string;
      kind?: string;
      metadata?: { name?: string; namespace?: string };
    } & SecretLike;
    if (o?.kind !== 'Secret' || o.apiVersion !== 'v1' || !o.metadata?.name) continue;
    secrets.set(`${o.metadata.namespace ?? 'default'}/${o.metadata.name}`, o);
  }
  return (namespace, name) => secrets.get(`${namespace}/${name}`);
}
