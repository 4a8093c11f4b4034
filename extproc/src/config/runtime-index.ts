// The snapshot's consumer data indexed once per load (RuntimeIndex of flow/types.ts): credentials by
// key hash, products by namespace/name. Policies look things up here on every request.
import { createHmac } from 'node:crypto';
import type { App__Output } from '../../../protos/gen/gatehouse/v1/App.ts';
import type { Credential__Output } from '../../../protos/gen/gatehouse/v1/Credential.ts';
import type { Product__Output } from '../../../protos/gen/gatehouse/v1/Product.ts';
import type { RuntimeSnapshot__Output } from '../../../protos/gen/gatehouse/v1/RuntimeSnapshot.ts';
import type { RuntimeIndex } from '../flow/types.ts';

export class SnapshotRuntimeIndex implements RuntimeIndex {
  readonly version: string;
  private readonly hashKey: Buffer;
  private readonly credentials = new Map<string, { app: App__Output; credential: Credential__Output }>();
  private readonly products = new Map<string, Product__Output>();

  constructor(snapshot: RuntimeSnapshot__Output) {
    this.version = snapshot.version;
    this.hashKey = Buffer.from(snapshot.credentialHashKey, 'hex');
    for (const app of snapshot.apps) {
      for (const credential of app.credentials)
        this.credentials.set(credential.keyHash.toLowerCase(), { app, credential });
    }
    for (const product of snapshot.products) this.products.set(`${product.namespace}/${product.name}`, product);
  }

  hashCredential(value: string): string {
    return createHmac('sha256', this.hashKey).update(value, 'utf8').digest('hex');
  }

  findCredential(keyHash: string): { app: App__Output; credential: Credential__Output } | undefined {
    return this.credentials.get(keyHash.toLowerCase());
  }

  product(namespace: string, name: string): Product__Output | undefined {
    return this.products.get(`${namespace}/${name}`);
  }
}
