// Which DataPlane's configuration a node gets (docs/architecture.md#the-operator): the one its
// node.cluster names (`<namespace>/<dataplane>/<component>`). Over mutual TLS the client
// certificate's identity (URI SAN spiffe://gatehouse/ns/<ns>/dataplane/<dp>/<component>, which the
// operator puts in every data-plane leaf) must name that same DataPlane and component: a pod holding
// one DataPlane's certificate can never read another's listeners, routes, secrets or consumer keys.
import { parseComponentIdentity, parseNodeCluster } from '../api/names.ts';

export type NodeDataPlane = { dataPlane: string | undefined } | { refused: string };

/** The URI SANs of a peer certificate's subjectaltname ("URI:a, DNS:b, ..."). */
export function uriSans(subjectaltname: string | undefined): string[] {
  return (subjectaltname ?? '')
    .split(/,\s*/)
    .filter((entry) => entry.startsWith('URI:'))
    .map((entry) => entry.slice(4));
}

/**
 * The DataPlane ("namespace/name") whose view `cluster` is served, undefined for a node of no
 * DataPlane, or why the node is refused. `peerUris`: the verified client certificate's URI SANs
 * (undefined without TLS); `requireIdentity`: a certificate without a data-plane identity is refused
 * (the operator issues every data-plane certificate, so in that mode each one carries it).
 */
export function nodeDataPlane(
  cluster: string,
  peerUris: readonly string[] | undefined,
  requireIdentity: boolean,
): NodeDataPlane {
  const ref = parseNodeCluster(cluster);
  const identities = (peerUris ?? []).flatMap((uri) => parseComponentIdentity(uri) ?? []);
  if (identities.length === 0) {
    if (requireIdentity)
      return {
        refused: `the client certificate carries no data-plane identity (URI SAN spiffe://gatehouse/ns/<namespace>/dataplane/<name>/<component>)`,
      };
    return { dataPlane: ref && `${ref.namespace}/${ref.dataPlane}` };
  }
  const named = identities.map((i) => `${i.namespace}/${i.dataPlane}/${i.component}`);
  if (!ref || !named.includes(`${ref.namespace}/${ref.dataPlane}/${ref.component}`))
    return { refused: `node.cluster "${cluster}" is not the identity of its client certificate (${named.join(', ')})` };
  return { dataPlane: `${ref.namespace}/${ref.dataPlane}` };
}
