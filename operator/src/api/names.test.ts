// kubectl resolves `kubectl get NAME` to whichever served resource has NAME as its plural, singular or
// short name, so a name we share with another project's CRD or a built-in makes one of the two
// unreachable by that name (it is how `App`/apps and `Policy`/policies got renamed: Argo CD and
// Kyverno). Every name our CRDs register stays off this list of well-known ones, and off each other.
import { describe, expect, it } from 'vitest';
import { buildCrds } from './crds.ts';

/** Plurals, singulars and short names of resources often installed next to Gatehouse. */
const wellKnown: Record<string, readonly string[]> = {
  'Kubernetes built-ins': [
    ...['pods', 'pod', 'po', 'services', 'service', 'svc', 'deployments', 'deployment', 'deploy'],
    ...['configmaps', 'configmap', 'cm', 'secrets', 'secret', 'namespaces', 'namespace', 'ns'],
    ...['nodes', 'node', 'no', 'persistentvolumes', 'persistentvolume', 'pv'],
    ...['persistentvolumeclaims', 'persistentvolumeclaim', 'pvc', 'serviceaccounts', 'serviceaccount', 'sa'],
    ...['daemonsets', 'daemonset', 'ds', 'replicasets', 'replicaset', 'rs', 'statefulsets', 'statefulset', 'sts'],
    ...['replicationcontrollers', 'replicationcontroller', 'rc', 'jobs', 'job', 'cronjobs', 'cronjob', 'cj'],
    ...['ingresses', 'ingress', 'ing', 'ingressclasses', 'ingressclass', 'networkpolicies', 'networkpolicy'],
    ...['netpol', 'poddisruptionbudgets', 'poddisruptionbudget', 'pdb', 'horizontalpodautoscalers'],
    ...['horizontalpodautoscaler', 'hpa', 'endpoints', 'ep', 'endpointslices', 'endpointslice', 'events'],
    ...['event', 'ev', 'customresourcedefinitions', 'customresourcedefinition', 'crd', 'crds'],
    ...['limitranges', 'limitrange', 'limits', 'resourcequotas', 'resourcequota', 'quota'],
    ...['priorityclasses', 'priorityclass', 'pc', 'storageclasses', 'storageclass', 'sc'],
    ...['certificatesigningrequests', 'certificatesigningrequest', 'csr', 'componentstatuses', 'cs'],
    ...['leases', 'lease', 'roles', 'role', 'rolebindings', 'rolebinding', 'clusterroles', 'clusterrole'],
    ...['clusterrolebindings', 'clusterrolebinding', 'apiservices', 'apiservice', 'controllerrevisions'],
    ...['runtimeclasses', 'podtemplates', 'validatingadmissionpolicies', 'validatingadmissionpolicy'],
  ],
  'Argo CD': [
    ...['applications', 'application', 'app', 'apps', 'applicationsets', 'applicationset', 'appset', 'appsets'],
    ...['appprojects', 'appproject', 'appproj', 'appprojs'],
  ],
  Kyverno: [
    ...['policies', 'policy', 'pol', 'clusterpolicies', 'clusterpolicy', 'cpol', 'policyreports', 'polr'],
    ...['clusterpolicyreports', 'cpolr', 'policyexceptions', 'polex', 'cleanuppolicies', 'cleanpol'],
    ...['clustercleanuppolicies', 'ccleanpol', 'updaterequests', 'ur'],
  ],
  'Gateway API': [
    ...['gateways', 'gateway', 'gtw', 'gatewayclasses', 'gatewayclass', 'gc', 'httproutes', 'httproute'],
    ...['grpcroutes', 'grpcroute', 'tcproutes', 'tlsroutes', 'udproutes', 'referencegrants', 'refgrant'],
    ...['backendtlspolicies', 'btlspolicy'],
  ],
  'cert-manager': [
    ...['certificates', 'certificate', 'cert', 'certs', 'issuers', 'issuer', 'clusterissuers', 'clusterissuer'],
    ...['certificaterequests', 'certificaterequest', 'cr', 'crs', 'orders', 'order', 'challenges', 'challenge'],
  ],
  Istio: [
    ...['virtualservices', 'virtualservice', 'vs', 'gw', 'destinationrules', 'destinationrule', 'dr'],
    ...['serviceentries', 'serviceentry', 'se', 'peerauthentications', 'peerauthentication', 'pa'],
    ...['authorizationpolicies', 'authorizationpolicy', 'ap', 'requestauthentications', 'ra'],
    ...['sidecars', 'sidecar', 'envoyfilters', 'envoyfilter', 'workloadentries', 'we', 'workloadgroups', 'wg'],
    ...['telemetries', 'telemetry', 'wasmplugins', 'wasmplugin'],
  ],
  Flux: [
    ...['kustomizations', 'kustomization', 'ks', 'helmreleases', 'helmrelease', 'hr', 'gitrepositories'],
    ...['gitrepository', 'gitrepo', 'helmrepositories', 'helmrepository', 'helmrepo', 'helmcharts', 'hc'],
    ...['ocirepositories', 'ocirepository', 'ocirepo', 'buckets', 'alerts', 'providers', 'receivers'],
  ],
  'Prometheus Operator': [
    ...['servicemonitors', 'smon', 'podmonitors', 'pmon', 'prometheusrules', 'promrule', 'prometheuses', 'prom'],
    ...['alertmanagers', 'am'],
  ],
};

const names = buildCrds().map(({ crd }) => {
  const n = (crd as { spec: { names: { kind: string; plural: string; singular: string; shortNames: string[] } } }).spec
    .names;
  return { kind: n.kind, names: [n.plural, n.singular, ...n.shortNames] };
});

describe('CRD names', () => {
  it.each(names.map((k) => [k.kind, k.names] as const))(
    '%s registers no name another well-known resource has',
    (kind, own) => {
      const collisions = own.flatMap((name) =>
        Object.entries(wellKnown)
          .filter(([, list]) => list.includes(name))
          .map(([owner]) => `${kind} ${name}: ${owner}`),
      );
      expect(collisions).toEqual([]);
    },
  );

  it('are unique among our kinds, and each singular is its kind in lower case (as kubectl matches kinds)', () => {
    const all = names.flatMap((k) => k.names);
    expect(all.filter((n, i) => all.indexOf(n) !== i)).toEqual([]);
    for (const k of names) expect(k.names[1]).toBe(k.kind.toLowerCase());
  });
});
