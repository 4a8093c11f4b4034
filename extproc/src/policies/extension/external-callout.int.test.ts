// ExternalCallout against a real callout server written in Python with grpcio (testdata/callout_server.py,
// its stubs generated here by grpc_tools.protoc from protos/apigee/external_callout.proto): the
// MessageContext round trip, a fault on a marker, a server that hangs past TimeoutMs, one killed
// mid-call, a dead address, an oversized reply, and TLS with a CA and a client certificate issued here.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { webcrypto } from 'node:crypto';
// @peculiar/x509 needs the Reflect metadata API loaded first (as e2e/env/pki.ts does).
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../../../../e2e/env/eventually.ts';
import { createCa, createServingCert, type PemPair } from '../../../../e2e/env/pki.ts';
import { freePort } from '../../../../e2e/env/ports.ts';
import { ServiceProcess } from '../../../../e2e/env/processes.ts';
import { ensurePython, runPython } from '../../../../e2e/env/python.ts';
import { GrpcCallouts } from '../../callouts/external-callout-client.ts';
import { PolicyFault } from '../../flow/faults.ts';
import { makePolicyContext, type PolicyContextOptions } from '../../flow/policy-context.test-support.ts';
import { externalCalloutPolicy } from './external-callout.ts';

const protos = new URL('../../../../protos', import.meta.url).pathname;
const serverScript = new URL('./testdata/callout_server.py', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'gatehouse-callout-'));
const stubs = join(scratch, 'stubs');
const servers: ServiceProcess[] = [];
const callouts = new GrpcCallouts({ log: pino({ level: 'silent' }), maxReceiveBytes: 1024 * 1024 });
const meta = { namespace: 'shop', name: 'EC-py' };

let python: string;
let plainPort: number;

/** Starts the Python server and resolves with it and its port once it serves. */
async function startServer(name: string, args: string[] = []): Promise<{ proc: ServiceProcess; port: number }> {
  const proc = new ServiceProcess(name, python, ['-u', serverScript, stubs, ...args], scratch);
  servers.push(proc);
  const port = await eventually(`${name} serving`, () => {
    if (!proc.running) throw new Error(`${name} exited: ${readFileSync(proc.logFile, 'utf8').slice(-2000)}`);
    const m = /^PORT (\d+)$/m.exec(readFileSync(proc.logFile, 'utf8'));
    return m ? Number(m[1]) : undefined;
  });
  return { proc, port };
}

beforeAll(async () => {
  python = ensurePython();
  mkdirSync(stubs); // protoc does not create its output folder
  await runPython(
    [
      'import sys',
      'from grpc_tools import protoc',
      'sys.exit(protoc.main(["protoc", "-I" + sys.argv[1], "--python_out=" + sys.argv[2], "--grpc_python_out=" + sys.argv[2], "apigee/external_callout.proto"]))',
    ].join('\n'),
    [protos, stubs],
  );
  plainPort = (await startServer('callout-plain')).port;
}, 600_000);

afterAll(async () => {
  callouts.close();
  await Promise.all(servers.map((s) => s.kill()));
  rmSync(scratch, { recursive: true, force: true });
});

const config = (port: number, more: Record<string, unknown> = {}) => ({
  timeoutMs: 5000,
  grpcConnection: { server: `127.0.0.1:${port}` },
  configurations: {
    withRequestHeaders: true,
    withRequestContent: true,
    withResponseHeaders: true,
    withResponseContent: true,
    flowVariables: ['callout'],
  },
  ...more,
});

async function run(cfg: unknown, opts: PolicyContextOptions = {}) {
  const ctx = makePolicyContext({ callouts, ...opts });
  const fault = await Promise.resolve(externalCalloutPolicy.create(cfg as never, meta)(ctx)).then(
    () => undefined,
    (err: unknown) => {
      if (err instanceof PolicyFault) return err;
      throw err;
    },
  );
  return { ctx, fault };
}

describe('ExternalCallout against a Python grpcio server', () => {
  it('round trip: headers replaced and removed, query added, content changed, typed flow variables set and removed; read-only verb kept', async () => {
    const { ctx, fault } = await run(config(plainPort), {
      method: 'POST',
      path: '/orders?q=1',
      headers: { 'x-remove': 'gone', 'x-keep': 'kept' },
      body: '{"item":"book"}',
      contentType: 'application/json',
      variables: { 'callout.obsolete': 'old', 'callout.obsolete.child': 'old too' },
    });
    expect(fault).toBeUndefined();
    const { request, variables } = ctx;
    expect(request.headers.get('x-python')).toMatch(/^grpcio 1\.85\./);
    expect([request.headers.has('x-remove'), request.headers.get('x-keep')]).toEqual([false, 'kept']);
    expect(request.query).toBe('q=1&added=1');
    expect(request.body.text()).toBe('{"ITEM":"BOOK"}');
    expect(request.method).toBe('POST');
    expect([variables.get('callout.verb'), variables.get('callout.ok'), variables.get('callout.ratio')]).toEqual([
      'POST',
      true,
      0.5,
    ]);
    expect(variables.get('callout.headers')).toBeGreaterThanOrEqual(3);
    expect([variables.get('callout.obsolete'), variables.get('callout.obsolete.child')]).toEqual([
      undefined,
      undefined,
    ]);
  });

  it('in the response phase changes the response', async () => {
    const { ctx, fault } = await run(config(plainPort), { response: { status: 201, body: 'made' } });
    expect(fault).toBeUndefined();
    expect([ctx.response!.headers.get('x-python-response'), ctx.response!.body.text()]).toEqual([
      '201',
      'python saw: made',
    ]);
  });

  it('a fault the server raises on the marker is steps.externalcallout.MarkerFound, its variables applied', async () => {
    const { ctx, fault } = await run(config(plainPort), { variables: { 'callout.mode': 'fault' } });
    expect([fault?.status, fault?.errorCode, fault?.message]).toEqual([
      500,
      'steps.externalcallout.MarkerFound',
      'the python callout found the marker',
    ]);
    expect(fault?.overridesContinueOnError).toBe(true);
    expect(ctx.variables.get('callout.faulted')).toBe(true);
  });

  it('an error status from the server is ExecutionError naming it', async () => {
    const { fault } = await run(config(plainPort), { variables: { 'callout.mode': 'error' } });
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('[PERMISSION_DENIED: not allowed by the python callout]');
  });

  it('a server that hangs past TimeoutMs gives ExecutionError DEADLINE_EXCEEDED, not a hung request', async () => {
    const { fault } = await run(config(plainPort, { timeoutMs: 300 }), { variables: { 'callout.mode': 'hang' } });
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('DEADLINE_EXCEEDED');
  });

  it('a reply over the receive bound is refused (RESOURCE_EXHAUSTED), the message unchanged', async () => {
    const { ctx, fault } = await run(config(plainPort), {
      method: 'POST',
      body: 'small',
      variables: { 'callout.mode': 'huge' },
    });
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('RESOURCE_EXHAUSTED');
    expect(ctx.request.body.text()).toBe('small');
  });

  it('a server killed mid-call gives ExecutionError UNAVAILABLE, well before a long TimeoutMs', async () => {
    const { proc, port } = await startServer('callout-killed');
    const pending = run(config(port, { timeoutMs: 120_000 }), { variables: { 'callout.mode': 'hang' } });
    await eventually('the server got the call', () => readFileSync(proc.logFile, 'utf8').includes('HANG'));
    await proc.kill();
    const { fault } = await pending;
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('UNAVAILABLE');
  });

  it('a restarted server is used again: calls fail while it is down, then succeed on the same client', async () => {
    const first = await startServer('callout-restarted');
    expect((await run(config(first.port))).fault).toBeUndefined();
    await first.proc.kill();
    const down = await run(config(first.port));
    expect(down.fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    await startServer('callout-restarted-again', ['--port', String(first.port)]);
    await eventually('the callout succeeds again', async () => (await run(config(first.port))).fault === undefined);
  });

  it('an address nothing listens on gives ExecutionError UNAVAILABLE', async () => {
    const { fault } = await run(config(await freePort(), { timeoutMs: 60_000 }));
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('UNAVAILABLE');
  });

  it('one client per target, shared by steps built from different snapshots', async () => {
    const before = callouts.size;
    await run(config(plainPort));
    await run(config(plainPort));
    expect(callouts.size).toBe(before);
  });
});

async function clientCert(
  ca: { keys: webcrypto.CryptoKeyPair; certificate: x509.X509Certificate },
  cn: string,
): Promise<PemPair> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const certificate = await x509.X509CertificateGenerator.create({
    serialNumber: '03',
    subject: `CN=${cn}`,
    issuer: ca.certificate.subject,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 3600_000),
    signingAlgorithm: alg,
    publicKey: keys.publicKey,
    signingKey: ca.keys.privateKey,
    extensions: [
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  const pkcs8 = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  const key = `-----BEGIN PRIVATE KEY-----\n${pkcs8.match(/.{1,64}/g)!.join('\n')}\n-----END PRIVATE KEY-----\n`;
  return { cert: certificate.toString('pem'), key };
}

describe('ExternalCallout over TLS to the Python server (CA and client certificate issued here)', () => {
  let ca: Awaited<ReturnType<typeof createCa>>;
  let client: PemPair;
  let mtlsPort: number;
  const secrets = () => ({
    'shop/callout-tls/ca.crt': ca.cert,
    'shop/callout-tls/tls.crt': client.cert,
    'shop/callout-tls/tls.key': client.key,
  });
  const tlsConfig = (port: number, tls: Record<string, unknown>) => ({
    ...config(port),
    grpcConnection: { server: `127.0.0.1:${port}`, tls },
  });
  const fullTls = {
    caCertificate: { secretRef: { name: 'callout-tls', key: 'ca.crt' } },
    clientCertificate: { secretRef: { name: 'callout-tls', key: 'tls.crt' } },
    clientKey: { secretRef: { name: 'callout-tls', key: 'tls.key' } },
    serverName: 'callout.test',
  };

  beforeAll(async () => {
    ca = await createCa('callout test CA');
    const serving = await createServingCert(ca, 'callout.test', { dns: ['callout.test'], ip: ['127.0.0.1'] });
    client = await clientCert(ca, 'gatehouse-extproc');
    for (const [file, text] of Object.entries({
      'ca.pem': ca.cert,
      'server.pem': serving.cert,
      'server.key': serving.key,
    }))
      writeFileSync(join(scratch, file), text);
    mtlsPort = (
      await startServer('callout-mtls', [
        '--tls',
        join(scratch, 'server.pem'),
        join(scratch, 'server.key'),
        '--client-ca',
        join(scratch, 'ca.pem'),
      ])
    ).port;
  });

  it('mutual TLS: the server sees the client certificate; the round trip works', async () => {
    const { ctx, fault } = await run(tlsConfig(mtlsPort, fullTls), { snapshot: { policySecrets: secrets() } });
    expect(fault).toBeUndefined();
    expect(ctx.variables.get('callout.client_cn')).toBe('gatehouse-extproc');
    expect(ctx.request.headers.get('x-python')).toMatch(/^grpcio /);
  });

  it('without the client certificate the server refuses the handshake: ExecutionError UNAVAILABLE', async () => {
    const { fault } = await run(
      tlsConfig(mtlsPort, { caCertificate: fullTls.caCertificate, serverName: 'callout.test' }),
      { snapshot: { policySecrets: secrets() } },
    );
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('UNAVAILABLE');
  });

  it('a server certificate from another CA is refused: ExecutionError UNAVAILABLE', async () => {
    const other = await createCa('another CA');
    const { fault } = await run(tlsConfig(mtlsPort, { ...fullTls, caCertificate: other.cert }), {
      snapshot: { policySecrets: secrets() },
    });
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
    expect(fault?.message).toContain('UNAVAILABLE');
  });

  it('a client key that is not PEM is GrpcTlsInitFailed, the key never in the fault string', async () => {
    const { fault } = await run(tlsConfig(mtlsPort, fullTls), {
      snapshot: { policySecrets: { ...secrets(), 'shop/callout-tls/tls.key': 'not-a-key-s3cr3t' } },
    });
    expect(fault?.errorCode).toBe('steps.externalcallout.GrpcTlsInitFailed');
    expect(fault?.message).not.toContain('s3cr3t');
  });

  it('plain text to the TLS server fails closed: ExecutionError', async () => {
    const { fault } = await run(config(mtlsPort, { timeoutMs: 3000 }));
    expect(fault?.errorCode).toBe('steps.externalcallout.ExecutionError');
  });
});
