// A DataPlane's status from what is observed: what the compiler made of it (Accepted, ResolvedRefs),
// its Deployments' rollout state (the kubectl rollout status rules), and what every connected xDS node
// of it has ACKed compared with the version the operator serves. Pure: the controller gathers the
// inputs.
import type { NodeStatus } from '../../xds/node-registry.ts';
import { components, parseNodeCluster, workloadName, type Component } from '../../api/names.ts';

export interface DeploymentState {
  metadata: { name?: string; generation?: number };
  spec?: { replicas?: number };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    updatedReplicas?: number;
    availableReplicas?: number;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

export interface DataPlaneStatusInput {
  namespace: string;
  name: string;
  /** The live Deployments (undefined: not created yet, or deleted). */
  deployments: Partial<Record<Component, DeploymentState>>;
  /** Every node connected to the xDS server (all DataPlanes; this picks its own). */
  nodes: readonly NodeStatus[];
  /** The snapshot version the operator serves, or undefined before the first one. */
  configVersion: string | undefined;
  /** The compiler's Accepted and ResolvedRefs of the DataPlane, once it has compiled it. */
  compileConditions?: readonly CompileCondition[];
}

export interface CompileCondition {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

export interface StatusCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
}

export interface ComponentStatus {
  name: Component;
  replicas: number;
  readyReplicas: number;
  syncedVersion?: string;
}

export interface DataPlaneStatusResult {
  conditions: StatusCondition[];
  configVersion?: string;
  components: ComponentStatus[];
}

/** At most this many nodes are named in a message; the rest are counted. */
const namedNodesLimit = 5;

function listed(items: string[]): string {
  if (items.length <= namedNodesLimit) return items.join(', ');
  return `${items.slice(0, namedNodesLimit).join(', ')} and ${items.length - namedNodesLimit} more`;
}

const desiredReplicas = (d: DeploymentState) => d.spec?.replicas ?? 1;

/** Why a Deployment is not rolled out and available, or undefined when it is (kubectl rollout status). */
export function deploymentProblem(d: DeploymentState | undefined, name: string): string | undefined {
  if (!d) return `Deployment ${name} does not exist yet`;
  const s = d.status ?? {};
  if ((s.observedGeneration ?? 0) < (d.metadata.generation ?? 0))
    return `Deployment ${name}: generation ${d.metadata.generation} not yet observed`;
  if (s.conditions?.some((c) => c.type === 'Progressing' && c.reason === 'ProgressDeadlineExceeded')) {
    return `Deployment ${name}: rollout exceeded its progress deadline`;
  }
  const desired = desiredReplicas(d);
  const updated = s.updatedReplicas ?? 0;
  const replicas = s.replicas ?? 0;
  const available = s.availableReplicas ?? 0;
  if (updated < desired) return `Deployment ${name}: ${updated} of ${desired} pods updated`;
  if (replicas > updated) return `Deployment ${name}: ${replicas - updated} old pods pending termination`;
  if (available < updated) return `Deployment ${name}: ${available} of ${updated} updated pods available`;
  return undefined;
}

/** Whether the node currently rejects configuration: its last NACK is not followed by an ACK. */
function rejecting(node: NodeStatus): { type: string; version: string; message: string } | undefined {
  for (const [type, t] of Object.entries(node.types).sort(([a], [b]) => a.localeCompare(b))) {
    if (t.lastNack && (!t.ackedAt || t.lastNack.at >= t.ackedAt)) return { type, ...t.lastNack };
  }
  return undefined;
}

/** The version every node runs, or, when they differ, the oldest: the one synced longest ago. */
function componentVersion(nodes: NodeStatus[], configVersion: string | undefined): string | undefined {
  if (nodes.length === 0 || nodes.some((n) => n.syncedVersion === undefined)) return undefined;
  const versions = new Set(nodes.map((n) => n.syncedVersion));
  if (versions.size === 1) return nodes[0]!.syncedVersion;
  const behind = nodes
    .filter((n) => n.syncedVersion !== configVersion)
    .sort((a, b) => (a.syncedAt ?? '').localeCompare(b.syncedAt ?? '') || a.id.localeCompare(b.id));
  return behind[0]?.syncedVersion;
}

function configSynced(
  input: DataPlaneStatusInput,
  mine: { node: NodeStatus; component: Component }[],
): StatusCondition {
  const type = 'ConfigSynced';
  const { configVersion } = input;
  if (configVersion === undefined)
    return {
      type,
      status: 'Unknown',
      reason: 'NoSnapshot',
      message: 'the operator has not compiled a configuration yet',
    };
  if (mine.length === 0) {
    const expected = components.reduce(
      (n, c) => n + (input.deployments[c] ? desiredReplicas(input.deployments[c]) : 0),
      0,
    );
    if (expected === 0 && components.every((c) => input.deployments[c])) {
      return { type, status: 'True', reason: 'NoReplicas', message: 'no data-plane pods are meant to run' };
    }
    return {
      type,
      status: 'False',
      reason: 'NoNodesConnected',
      message: 'no data-plane pod of this DataPlane is connected to the xDS server',
    };
  }
  const label = (m: { node: NodeStatus; component: Component }) => `${m.node.id} (${m.component})`;
  const nacks = mine.flatMap((m) => {
    const r = rejecting(m.node);
    return r ? [`${label(m)} rejected ${r.version} (${r.type}): ${r.message}`] : [];
  });
  const behind = mine
    .filter((m) => m.node.syncedVersion !== configVersion)
    .map((m) => `${label(m)} runs ${m.node.syncedVersion ?? 'nothing yet'}`);
  if (nacks.length > 0) {
    return {
      type,
      status: 'False',
      reason: 'Rejected',
      message: `${nacks.length} of ${mine.length} nodes reject configuration: ${listed(nacks)}`,
    };
  }
  if (behind.length > 0) {
    return {
      type,
      status: 'False',
      reason: 'Syncing',
      message: `${behind.length} of ${mine.length} nodes do not run ${configVersion} yet: ${listed(behind)}`,
    };
  }
  return { type, status: 'True', reason: 'Synced', message: `all ${mine.length} connected nodes run ${configVersion}` };
}

export function dataPlaneStatus(input: DataPlaneStatusInput): DataPlaneStatusResult {
  const mine = input.nodes
    .flatMap((node) => {
      const ref = parseNodeCluster(node.cluster);
      return ref && ref.namespace === input.namespace && ref.dataPlane === input.name
        ? [{ node, component: ref.component }]
        : [];
    })
    .sort((a, b) => a.node.id.localeCompare(b.node.id));

  const synced = configSynced(input, mine);
  const problems = components.flatMap(
    (c) => deploymentProblem(input.deployments[c], workloadName(input.name, c)) ?? [],
  );
  const compile = (input.compileConditions ?? []).map((c) => ({ ...c }));
  const rejected = compile.find((c) => c.type === 'Accepted' && c.status === 'False');
  let ready: StatusCondition;
  // Not accepted: its listeners are not (or no longer) what the snapshot serves.
  if (rejected) ready = { type: 'Ready', status: 'False', reason: rejected.reason, message: rejected.message };
  else if (problems.length > 0)
    ready = { type: 'Ready', status: 'False', reason: 'WorkloadsNotReady', message: problems.join('; ') };
  else if (synced.status !== 'True')
    ready = { type: 'Ready', status: 'False', reason: 'ConfigNotSynced', message: synced.message };
  else
    ready = {
      type: 'Ready',
      status: 'True',
      reason: 'Ready',
      message: 'Envoy and extproc are available and run the current configuration',
    };

  return {
    conditions: [...compile, ready, synced],
    ...(input.configVersion !== undefined ? { configVersion: input.configVersion } : {}),
    components: components.map((name) => {
      const d = input.deployments[name];
      const version = componentVersion(
        mine.filter((m) => m.component === name).map((m) => m.node),
        input.configVersion,
      );
      return {
        name,
        replicas: d ? desiredReplicas(d) : 0,
        readyReplicas: d?.status?.readyReplicas ?? 0,
        ...(version !== undefined ? { syncedVersion: version } : {}),
      };
    }),
  };
}
