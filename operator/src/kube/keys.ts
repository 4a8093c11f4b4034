// Work-queue keys of namespaced objects, "namespace/name" (client-go's MetaNamespaceKeyFunc and
// SplitMetaNamespaceKey): one spelling for every controller.
export interface Named {
  metadata?: { namespace?: string; name?: string };
}

export const objectKey = (o: Named): string => `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;

export function splitObjectKey(key: string): [namespace: string, name: string] {
  const slash = key.indexOf('/');
  return [key.slice(0, slash), key.slice(slash + 1)];
}
