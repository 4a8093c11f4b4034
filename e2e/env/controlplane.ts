// A real Kubernetes control plane without Docker or kubelet: etcd + kube-apiserver on free loopback
// ports, a throwaway CA, static tokens for an admin (system:masters) and for a restricted identity
// that gets exactly the Helm chart's ClusterRole, kubeconfigs for both, and an audit log of every
// request (audit.ts reads it: which calls an identity made and which were refused).
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { TestEnvStartError } from './errors.ts';
import { createCa, createServingCert, serviceAccountKeys } from './pki.ts';
import { freePort } from './ports.ts';
import { ServiceProcess } from './processes.ts';
import type { TestBinaries } from './testbin.ts';

/** The restricted identity's user name; the chart's ClusterRole is bound to it. */
export const OPERATOR_TEST_USER = 'gatehouse-operator-test';

export interface ControlPlane {
  server: string;
  caCert: string;
  adminToken: string;
  operatorToken: string;
  adminKubeconfig: string;
  operatorKubeconfig: string;
  /** JSON lines, one audit event per request (stage ResponseComplete, level Metadata). */
  auditLog: string;
  etcd: ServiceProcess;
  apiserver: ServiceProcess;
  /** Restarts kube-apiserver on the same port, etcd and certificates (for recovery tests). */
  restartApiserver(): Promise<void>;
  stop(): Promise<void>;
}

export async function startControlPlane(bins: TestBinaries, dir: string): Promise<ControlPlane> {
  mkdirSync(dir, { recursive: true });
  const [etcdPort, peerPort, apiPort] = [await freePort(), await freePort(), await freePort()];

  const etcd = new ServiceProcess(
    'etcd',
    bins.etcd,
    [
      '--name',
      'default',
      '--data-dir',
      join(dir, 'etcd-data'),
      '--listen-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--advertise-client-urls',
      `http://127.0.0.1:${etcdPort}`,
      '--listen-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-advertise-peer-urls',
      `http://127.0.0.1:${peerPort}`,
      '--initial-cluster',
      `default=http://127.0.0.1:${peerPort}`,
      // Test data is thrown away: skip fsync, it is most of etcd's write latency.
      '--unsafe-no-fsync',
      '--log-level',
      'warn',
    ],
    dir,
  );

  const ca = await createCa('gatehouse-testenv-ca');
  const serving = await createServingCert(ca, 'kube-apiserver', {
    dns: ['localhost', 'kubernetes.default.svc'],
    ip: ['127.0.0.1'],
  });
  const sa = serviceAccountKeys();
  const adminToken = randomBytes(24).toString('hex');
  const operatorToken = randomBytes(24).toString('hex');
  const files = {
    ca: join(dir, 'ca.crt'),
    cert: join(dir, 'apiserver.crt'),
    key: join(dir, 'apiserver.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
    tokens: join(dir, 'tokens.csv'),
    auditPolicy: join(dir, 'audit-policy.yaml'),
    auditLog: join(dir, 'audit.log'),
  };
  writeFileSync(files.ca, ca.cert);
  writeFileSync(files.cert, serving.cert);
  writeFileSync(files.key, serving.key, { mode: 0o600 });
  writeFileSync(files.saKey, sa.key, { mode: 0o600 });
  writeFileSync(files.saPub, sa.publicKey);
  // token,user,uid,"group1,group2"
  writeFileSync(
    files.tokens,
    `${adminToken},admin,admin,"system:masters"\n${operatorToken},${OPERATOR_TEST_USER},${OPERATOR_TEST_USER},"system:authenticated"\n`,
    { mode: 0o600 },
  );
  writeFileSync(files.auditPolicy, auditPolicy);

  const apiserverArgs = [
    '--etcd-servers',
    `http://127.0.0.1:${etcdPort}`,
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--secure-port',
    String(apiPort),
    '--tls-cert-file',
    files.cert,
    '--tls-private-key-file',
    files.key,
    '--client-ca-file',
    files.ca,
    '--token-auth-file',
    files.tokens,
    '--authorization-mode',
    'RBAC',
    '--service-account-issuer',
    'https://kubernetes.default.svc',
    '--service-account-key-file',
    files.saPub,
    '--service-account-signing-key-file',
    files.saKey,
    '--service-cluster-ip-range',
    '10.96.0.0/24',
    '--allow-privileged=true',
    // No controller-manager runs, so nothing would mint the tokens this plugin waits for.
    '--disable-admission-plugins',
    'ServiceAccount',
    // The apiserver may not advertise a loopback address through the endpoints reconciler; nothing
    // here needs the kubernetes Service's endpoints.
    '--endpoint-reconciler-type',
    'none',
    // Every request, once, when its response is complete. Blocking mode: the request's own goroutine
    // writes the event (no buffer to flush), so a test finds its calls in the file as they return.
    '--audit-policy-file',
    files.auditPolicy,
    '--audit-log-path',
    files.auditLog,
    '--audit-log-mode',
    'blocking',
    '--audit-log-format',
    'json',
    '--v',
    '1',
  ];
  const server = `https://127.0.0.1:${apiPort}`;
  let apiserver: ServiceProcess;
  const startApiserver = async () => {
    apiserver = new ServiceProcess('kube-apiserver', bins.kubeApiserver, apiserverArgs, dir);
    await waitReady(server, ca.cert, adminToken, apiserver);
  };
  try {
    await startApiserver();
  } catch (err) {
    await etcd.stop();
    throw err;
  }

  const adminKubeconfig = join(dir, 'admin.kubeconfig');
  const operatorKubeconfig = join(dir, 'operator.kubeconfig');
  writeFileSync(adminKubeconfig, kubeconfig(server, ca.cert, 'admin', adminToken), { mode: 0o600 });
  writeFileSync(operatorKubeconfig, kubeconfig(server, ca.cert, OPERATOR_TEST_USER, operatorToken), { mode: 0o600 });

  return {
    server,
    caCert: ca.cert,
    adminToken,
    operatorToken,
    adminKubeconfig,
    operatorKubeconfig,
    auditLog: files.auditLog,
    etcd,
    get apiserver() {
      return apiserver;
    },
    async restartApiserver() {
      await apiserver.stop();
      await startApiserver();
    },
    async stop() {
      await apiserver.stop();
      await etcd.stop();
    },
  };
}

/** Metadata (who, verb, resource, name, response code) of every request; no bodies, no secrets. */
const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
  - level: Metadata
`;

function kubeconfig(server: string, caCert: string, user: string, token: string): string {
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'testenv',
      clusters: [
        { name: 'testenv', cluster: { server, 'certificate-authority-data': Buffer.from(caCert).toString('base64') } },
      ],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: 'testenv', context: { cluster: 'testenv', user, namespace: 'default' } }],
    },
    null,
    2,
  );
}

function getReadyz(server: string, caCert: string, token: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(
      `${server}/readyz`,
      { ca: caCert, headers: { authorization: `Bearer ${token}` }, timeout: 2_000 },
      (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      },
    );
    req.on('error', () => resolve(0));
    req.on('timeout', () => req.destroy());
    req.end();
  });
}

async function waitReady(
  server: string,
  caCert: string,
  token: string,
  proc: ServiceProcess,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!proc.running) throw new TestEnvStartError(`kube-apiserver exited during start; see ${proc.logFile}`);
    if ((await getReadyz(server, caCert, token)) === 200) return;
    await sleep(250);
  }
  throw new TestEnvStartError(`kube-apiserver not ready within ${timeoutMs / 1000} s; see ${proc.logFile}`);
}
