// The planner and the reconcile steps against an in-memory store with a fake clock: fresh install,
// renewal at 2/3 and with renewBefore, broken certificates found at start, a user CA and its rotation,
// and the operator CA's rotation step by step, checked on the full history of Secret versions.
import { describe, expect, it } from 'vitest';
import { bundleCerts } from './authorities.ts';
import { createCa, isSignedBy, issueCertificate, loadSigner, parseCertificates, type CertInfo } from './pki.ts';
import { evaluateLeaf, leafRenewAt } from './planner.ts';
import { MemoryWorld, type Version } from './reconcile.test-support.ts';
import { envoyLeaf, xdsLeaf } from './leaves.ts';
import { certificateAnnotations, secretKeys } from '../api/names.ts';

const hour = 3_600_000;
const day = 24 * hour;
const t0 = new Date('2026-03-01T00:00:00Z');
const opns = 'gatehouse-system';
const delay = 90_000;

const leafCert = (w: MemoryWorld, ns: string, name: string) =>
  parseCertificates(w.get(ns, name)!.data[secretKeys.tlsCert]!)[0]!;
const caCert = (w: MemoryWorld) => parseCertificates(w.get(opns, 'gatehouse-ca')!.data[secretKeys.caCert]!)[0]!;
const fps = (certs: CertInfo[]) => certs.map((c) => c.fingerprint).sort();

function world(planner: Partial<ConstructorParameters<typeof MemoryWorld>[1]> = {}) {
  const w = new MemoryWorld(t0, { propagationDelayMs: delay, ...planner });
  w.addDataPlane({
    namespace: 'prod',
    name: 'eu',
    listeners: [{ name: 'https', sans: { dns: ['api.example.com', 'api.example.com'], ips: ['203.0.113.10'] } }],
  });
  return w;
}

async function signedBy(
  w: MemoryWorld,
  commonName: string,
  notBefore: Date,
  notAfter: Date,
  extra: Partial<Parameters<typeof issueCertificate>[1]> = {},
) {
  const ca = w.get(opns, 'gatehouse-ca')!;
  const signer = loadSigner(ca.data[secretKeys.caCert]!, ca.data[secretKeys.caKey]!);
  return issueCertificate(signer, {
    commonName,
    dns: ['eu-envoy.prod.svc'],
    ips: [],
    uris: ['spiffe://gatehouse/ns/prod/dataplane/eu/envoy'],
    usages: ['clientAuth'],
    notBefore,
    notAfter,
    ...extra,
  });
}

describe('fresh install', () => {
  it('creates the operator CA, the xDS certificate, the bundle and every leaf, the bundle before the leaves', async () => {
    const w = world();
    const { dataPlanes, nextCheckAt } = await w.settle();
    expect([...w.secrets.keys()].sort()).toEqual([
      `${opns}/gatehouse-ca`,
      `${opns}/gatehouse-xds-tls`,
      'prod/eu-ca-bundle',
      'prod/eu-envoy-tls',
      'prod/eu-extproc-tls',
      'prod/eu-listener-https-tls',
    ]);
    const ca = caCert(w);
    expect(ca.isCa).toBe(true);
    expect(w.get(opns, 'gatehouse-ca')!.annotations[certificateAnnotations.caPhase]).toBe('Stable');
    expect(ca.notAfter.getTime() - t0.getTime()).toBe(5 * 2160 * hour);
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual([ca.fingerprint]);

    const envoy = leafCert(w, 'prod', 'eu-envoy-tls');
    expect(envoy.usages).toEqual(['clientAuth']);
    expect(envoy.uris).toEqual(['spiffe://gatehouse/ns/prod/dataplane/eu/envoy']);
    expect(envoy.dns).toEqual(['eu-envoy.prod.svc']);
    const extproc = leafCert(w, 'prod', 'eu-extproc-tls');
    expect(extproc.usages).toEqual(['serverAuth', 'clientAuth']);
    expect(extproc.dns).toEqual(
      expect.arrayContaining(['eu-extproc.prod.svc', '*.eu-extproc.prod.svc', 'eu-extproc.prod.svc.cluster.local']),
    );
    const listener = leafCert(w, 'prod', 'eu-listener-https-tls');
    expect(listener.dns).toEqual(['eu-envoy.prod.svc', 'eu-envoy.prod.svc.cluster.local', 'api.example.com']);
    expect(listener.ips).toEqual(['203.0.113.10']);
    expect(listener.usages).toEqual(['serverAuth']);
    const xds = w.get(opns, 'gatehouse-xds-tls')!;
    expect(parseCertificates(xds.data[secretKeys.tlsCert]!)[0]!.dns).toEqual([
      'gatehouse-xds.gatehouse-system.svc',
      'gatehouse-xds.gatehouse-system.svc.cluster.local',
      'gatehouse-xds.gatehouse-system',
      'gatehouse-xds',
    ]);
    expect(fps(bundleCerts(xds))).toEqual([ca.fingerprint]);
    // The operator's one identity: the xDS server's certificate and its client certificate to extproc (deep check).
    expect(parseCertificates(xds.data[secretKeys.tlsCert]!)[0]!.usages).toEqual(['serverAuth', 'clientAuth']);
    expect(parseCertificates(xds.data[secretKeys.tlsCert]!)[0]!.uris).toEqual([
      `spiffe://gatehouse/ns/${opns}/operator`,
    ]);
    for (const c of [envoy, extproc, listener]) {
      expect(isSignedBy(c, ca)).toBe(true);
      expect(c.notBefore.getTime()).toBe(t0.getTime() - 5 * 60_000);
      expect(c.notAfter.getTime()).toBe(t0.getTime() + 2160 * hour);
    }
    const order = w.history.filter((v) => v.key.startsWith('prod/')).map((v) => v.key);
    expect(order[0]).toBe('prod/eu-ca-bundle');
    const issued = w.events.filter((e) => e.reason === 'CertificateIssued');
    expect(
      issued
        .filter((e) => e.regarding === 'DataPlane/prod/eu')
        .map((e) => e.note.split(':')[0])
        .sort(),
    ).toEqual(['eu-envoy-tls', 'eu-extproc-tls', 'eu-listener-https-tls']);
    expect(issued.filter((e) => e.regarding === `Secret/${opns}/gatehouse-xds-tls`)).toHaveLength(1);
    const outcome = dataPlanes.get('prod/eu')!;
    expect(outcome.condition).toMatchObject({ type: 'CertificatesReady', status: 'True', reason: 'Valid' });
    expect(outcome.condition.message).toMatch(/^5 certificates valid; the soonest to expire is /);
    expect(outcome.certificates.map((c) => c.name)).toEqual([
      'eu-envoy-tls',
      'eu-extproc-tls',
      'eu-listener-https-tls',
      `${opns}/gatehouse-ca`,
      `${opns}/gatehouse-xds-tls`,
    ]);
    expect(outcome.certificates[0]!.notAfter).toBe('2026-05-30T00:00:00Z');
    // Nothing to do until the leaves reach 2/3 of their life.
    expect(nextCheckAt.getTime()).toBe(t0.getTime() + w.planner.maxRequeueMs);
    // A second pass writes nothing.
    const before = w.history.length;
    await w.settle();
    expect(w.history.length).toBe(before);
  });

  it('keeps private keys out of events and annotations', async () => {
    const w = world();
    await w.settle();
    const text = JSON.stringify([w.events, [...w.secrets.values()].map((s) => s.metadata)]);
    expect(text).not.toMatch(/PRIVATE KEY/);
  });
});

describe('renewal', () => {
  it('renews every leaf at 2/3 of its lifetime, not a minute before', async () => {
    const w = world();
    await w.settle();
    const renewAt = t0.getTime() + (2160 * hour * 2) / 3;
    expect(w.get('prod', 'eu-envoy-tls')!.annotations[certificateAnnotations.renewAt]).toBe(
      new Date(renewAt).toISOString().replace('.000', ''),
    );
    w.now = new Date(renewAt - 60_000);
    const quiet = w.history.length;
    const { nextCheckAt } = await w.settle();
    expect(w.history.length).toBe(quiet);
    expect(nextCheckAt.getTime()).toBe(renewAt);
    w.now = new Date(renewAt);
    const { dataPlanes, operator } = await w.settle();
    expect(
      w.history
        .slice(quiet)
        .map((v) => v.key)
        .sort(),
    ).toEqual([`${opns}/gatehouse-xds-tls`, 'prod/eu-envoy-tls', 'prod/eu-extproc-tls', 'prod/eu-listener-https-tls']);
    expect(operator.caSteps).toEqual([]);
    expect(dataPlanes.get('prod/eu')!.condition.status).toBe('True');
    const renewed = w.events.filter((e) => e.reason === 'CertificateRenewed');
    expect(renewed).toHaveLength(4);
    expect(renewed[0]!.type).toBe('Normal');
    expect(renewed[0]!.note).toContain('(2/3 of its lifetime)');
    expect(leafCert(w, 'prod', 'eu-envoy-tls').notAfter.getTime()).toBe(renewAt + 2160 * hour);
  });

  it('renews renewBefore ahead of expiry when the DataPlane sets it', async () => {
    const w = new MemoryWorld(t0, { propagationDelayMs: delay, maxRequeueMs: 1000 * day });
    w.addDataPlane({ namespace: 'prod', name: 'eu', durationMs: 24 * hour, renewBeforeMs: hour });
    await w.settle();
    expect(leafCert(w, 'prod', 'eu-envoy-tls').notAfter.getTime()).toBe(t0.getTime() + 24 * hour);
    const { nextCheckAt } = await w.settle();
    expect(nextCheckAt.getTime()).toBe(t0.getTime() + 23 * hour);
    w.now = nextCheckAt;
    await w.settle();
    const renewed = w.events.filter((e) => e.reason === 'CertificateRenewed');
    expect(renewed.map((e) => e.note.split(':')[0]).sort()).toEqual(['eu-envoy-tls', 'eu-extproc-tls']);
    expect(renewed[0]!.note).toContain('(renewBefore 1h)');
  });

  it('never renews before issue when renewBefore is longer than the life (falls back to 2/3)', () => {
    const cert = { notBefore: new Date(0), notAfter: new Date(30 * day) } as CertInfo;
    expect(leafRenewAt(cert, new Date(0), 90 * day).getTime()).toBe(20 * day);
    expect(leafRenewAt(cert, new Date(0), 30 * day, 40 * day).getTime()).toBe(20 * day);
    expect(leafRenewAt(cert, new Date(0), 30 * day, 5 * day).getTime()).toBe(25 * day);
  });
});

describe('broken certificates found at start', () => {
  it('replaces an expired leaf at once; the event and the condition name the Secret, until the pods had time to load the new one', async () => {
    const w = world();
    await w.settle();
    // As found at start: someone restored an old backup.
    const old = await signedBy(w, 'eu-envoy.prod.svc', new Date(t0.getTime() - 10 * day), new Date(t0.getTime() - day));
    w.put('prod', 'eu-envoy-tls', { [secretKeys.tlsCert]: old.certPem, [secretKeys.tlsKey]: old.keyPem });
    const { dataPlanes } = await w.settle();
    const outcome = [...w.history].reverse().find((v) => v.key === 'prod/eu-envoy-tls')!;
    expect(outcome.ours).toBe(true);
    expect(outcome.view.annotations[certificateAnnotations.issueReason]).toBe('Expired');
    expect(leafCert(w, 'prod', 'eu-envoy-tls').notAfter.getTime()).toBeGreaterThan(t0.getTime());
    const event = w.events.find((e) => e.reason === 'CertificateExpired')!;
    // Normal: the Warning is CertificatesReady turning False (below), which names the same Secret.
    expect(event).toMatchObject({ type: 'Normal', regarding: 'DataPlane/prod/eu' });
    expect(event.note).toMatch(/^eu-envoy-tls: the certificate expired at 2026-02-28T00:00:00Z; issued /);
    const condition = dataPlanes.get('prod/eu')!.condition;
    expect(condition).toMatchObject({ status: 'False', reason: 'Expired' });
    expect(condition.message).toContain('eu-envoy-tls: the certificate expired at 2026-02-28T00:00:00Z; re-issued at');
    w.advance(delay);
    const later = await w.settle();
    expect(later.dataPlanes.get('prod/eu')!.condition).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it('replaces an xDS certificate without clientAuth (issued by an older operator): the operator needs it as its client certificate', async () => {
    const w = world();
    await w.settle();
    const spec = xdsLeaf(opns, 'gatehouse-xds');
    const serverOnly = await signedBy(w, spec.commonName, t0, new Date(t0.getTime() + day), {
      dns: spec.dns,
      uris: spec.uris,
      usages: ['serverAuth'],
    });
    w.put(opns, 'gatehouse-xds-tls', {
      ...w.get(opns, 'gatehouse-xds-tls')!.data,
      [secretKeys.tlsCert]: serverOnly.certPem,
      [secretKeys.tlsKey]: serverOnly.keyPem,
    });
    await w.settle();
    expect(leafCert(w, opns, 'gatehouse-xds-tls').usages).toEqual(['serverAuth', 'clientAuth']);
    expect(
      w.events.find((e) => e.regarding === `Secret/${opns}/gatehouse-xds-tls` && e.reason === 'CertificateInvalid')
        ?.note,
    ).toMatch(/lacks the extended key usage clientAuth/);
  });

  it("replaces a certificate swapped for one from another CA (an egress proxy's), a key that does not match, a missing name, one not yet valid", async () => {
    const w = world();
    await w.settle();
    const foreignCa = await createCa({
      commonName: 'Corporate Proxy CA',
      notBefore: new Date(t0.getTime() - day),
      notAfter: new Date(t0.getTime() + 365 * day),
    });
    const proxy = loadSigner(foreignCa.certPem, foreignCa.keyPem);
    const swapped = await issueCertificate(proxy, {
      commonName: 'eu-extproc.prod.svc',
      dns: envoyLeaf('prod', 'eu').dns,
      ips: [],
      uris: [],
      usages: ['serverAuth', 'clientAuth'],
      notBefore: t0,
      notAfter: new Date(t0.getTime() + day),
    });
    w.put('prod', 'eu-extproc-tls', { [secretKeys.tlsCert]: swapped.certPem, [secretKeys.tlsKey]: swapped.keyPem });
    const good = w.get('prod', 'eu-listener-https-tls')!;
    const other = await signedBy(w, 'x', t0, new Date(t0.getTime() + day));
    w.put('prod', 'eu-listener-https-tls', {
      [secretKeys.tlsCert]: good.data[secretKeys.tlsCert]!,
      [secretKeys.tlsKey]: other.keyPem,
    });
    const noName = await signedBy(w, 'eu-envoy.prod.svc', t0, new Date(t0.getTime() + day), { uris: [] });
    w.put('prod', 'eu-envoy-tls', { [secretKeys.tlsCert]: noName.certPem, [secretKeys.tlsKey]: noName.keyPem });
    const future = await signedBy(w, 'gatehouse-xds', new Date(t0.getTime() + day), new Date(t0.getTime() + 2 * day), {
      usages: ['serverAuth'],
    });
    w.put(opns, 'gatehouse-xds-tls', {
      ...w.get(opns, 'gatehouse-xds-tls')!.data,
      [secretKeys.tlsCert]: future.certPem,
      [secretKeys.tlsKey]: future.keyPem,
    });
    await w.settle();
    const notes = Object.fromEntries(
      w.events.filter((e) => e.reason === 'CertificateInvalid').map((e) => [e.regarding, e.note]),
    );
    // On a DataPlane the Warning is the condition's; the xDS Secret has no condition: its Event is the Warning.
    for (const e of w.events.filter((e) => e.reason === 'CertificateInvalid'))
      expect(e.type, e.regarding).toBe(e.regarding.startsWith('DataPlane/') ? 'Normal' : 'Warning');
    const dpNotes = w.events
      .filter((e) => e.reason === 'CertificateInvalid' && e.regarding === 'DataPlane/prod/eu')
      .map((e) => e.note);
    expect(dpNotes.find((n) => n.startsWith('eu-extproc-tls'))).toMatch(
      /issued by "CN=Corporate Proxy CA, O=Gatehouse", a CA the trust bundle does not carry/,
    );
    expect(dpNotes.find((n) => n.startsWith('eu-listener-https-tls'))).toMatch(
      /tls.key does not belong to the certificate/,
    );
    expect(dpNotes.find((n) => n.startsWith('eu-envoy-tls'))).toMatch(
      /lacks the names spiffe:\/\/gatehouse\/ns\/prod\/dataplane\/eu\/envoy/,
    );
    expect(notes[`Secret/${opns}/gatehouse-xds-tls`]).toMatch(/not valid before 2026-03-02T00:00:00Z/);
    for (const name of ['eu-extproc-tls', 'eu-listener-https-tls', 'eu-envoy-tls']) {
      expect(
        evaluateLeaf(
          w.leaves(w.dataPlanes.get('prod/eu')!).find((l) => l.secretName === name)!,
          w.get('prod', name),
          {
            now: w.now,
            signer: loadSigner(
              w.get(opns, 'gatehouse-ca')!.data[secretKeys.caCert]!,
              w.get(opns, 'gatehouse-ca')!.data[secretKeys.caKey]!,
            ),
            trust: [caCert(w)],
            durationMs: 2160 * hour,
          },
        ).need,
      ).toBeUndefined();
    }
  });

  it('re-issues a listener certificate at once when a host is added, as a routine (Normal) change', async () => {
    const w = world();
    await w.settle();
    w.dataPlanes.get('prod/eu')!.listeners![0]!.sans.dns.push('new.example.com');
    await w.settle();
    const event = w.events.find((e) => e.reason === 'CertificateReissued')!;
    expect(event.type).toBe('Normal');
    expect(event.note).toMatch(/^eu-listener-https-tls: the certificate lacks the names new.example.com/);
    expect(leafCert(w, 'prod', 'eu-listener-https-tls').dns).toContain('new.example.com');
  });

  it('replaces an expired operator CA at once and every certificate it signed', async () => {
    const w = world();
    await w.settle();
    const oldCa = caCert(w);
    w.now = new Date(oldCa.notAfter.getTime() + 1000);
    await w.settle();
    expect(w.events.find((e) => e.reason === 'CAReplaced')).toMatchObject({
      type: 'Warning',
      regarding: `Secret/${opns}/gatehouse-ca`,
    });
    const newCa = caCert(w);
    expect(newCa.fingerprint).not.toBe(oldCa.fingerprint);
    for (const name of ['eu-envoy-tls', 'eu-extproc-tls', 'eu-listener-https-tls'])
      expect(isSignedBy(leafCert(w, 'prod', name), newCa)).toBe(true);
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual([newCa.fingerprint]);
  });

  it('writes no leaf when the bundle cannot be written, and says so', async () => {
    const w = world();
    w.failing.add('prod/eu-ca-bundle');
    const { dataPlanes } = await w.settle();
    expect(w.secrets.has('prod/eu-envoy-tls')).toBe(false);
    expect(dataPlanes.get('prod/eu')!.condition).toMatchObject({ status: 'False', reason: 'IssueFailed' });
    expect(dataPlanes.get('prod/eu')!.condition.message).toContain('cannot write eu-ca-bundle');
  });
});

/** The latest version of a Secret written before `seq`. */
function versionBefore(history: Version[], key: string, seq: number): Version | undefined {
  return [...history].reverse().find((v) => v.key === key && v.seq < seq);
}

const issuedAt = (v: Version) => new Date(v.view.annotations[certificateAnnotations.issuedAt]!).getTime();
const changedAt = (v: Version) => new Date(v.view.annotations[certificateAnnotations.trustChangedAt]!).getTime();

describe('operator CA rotation', () => {
  it('adds the new CA to every bundle, waits, re-issues every leaf under it, waits, then drops the old CA', async () => {
    const w = world({ caDurationMs: 30 * day, maxRequeueMs: 1000 * day });
    w.addDataPlane({ namespace: 'staging', name: 'us', durationMs: 7 * day });
    await w.settle();
    const oldCa = caCert(w);
    const start = w.history.length;
    const startSeq = w.history.at(-1)!.seq;
    // 2/3 of the CA's 30 days; leaves (7 to 90 days, capped by the CA's expiry) renew on the way.
    await w.runUntil(() => w.events.some((e) => e.reason === 'CARotationCompleted'));
    const history = w.history.slice(start);
    const caVersions = history.filter((v) => v.key === `${opns}/gatehouse-ca`);
    expect(caVersions.map((v) => v.view.annotations[certificateAnnotations.caPhase])).toEqual([
      'Adding',
      'Reissuing',
      'Stable',
    ]);
    const [adding, reissuing, stable] = caVersions;
    expect(adding!.at.getTime()).toBeGreaterThanOrEqual(oldCa.notBefore.getTime() + 20 * day - 5 * 60_000);
    const newCa = parseCertificates(adding!.view.data[secretKeys.nextCert]!)[0]!;
    expect(caCert(w).fingerprint).toBe(newCa.fingerprint);
    expect(w.get(opns, 'gatehouse-ca')!.data[secretKeys.previousCert]).toBeUndefined();
    expect(w.events.filter((e) => e.regarding === `Secret/${opns}/gatehouse-ca`).map((e) => e.reason)).toEqual([
      'CACreated',
      'CARotationStarted',
      'CARotationPromoted',
      'CARotationCompleted',
    ]);

    const bundles = ['prod/eu-ca-bundle', 'staging/us-ca-bundle', `${opns}/gatehouse-xds-tls`];
    const leaves = [
      'prod/eu-envoy-tls',
      'prod/eu-extproc-tls',
      'prod/eu-listener-https-tls',
      'staging/us-envoy-tls',
      'staging/us-extproc-tls',
      `${opns}/gatehouse-xds-tls`,
    ];
    const carries = (v: Version | undefined, ca: CertInfo) =>
      v !== undefined && bundleCerts(v.view).some((c) => c.fingerprint === ca.fingerprint);
    const signedByNew = (v: Version) => isSignedBy(parseCertificates(v.view.data[secretKeys.tlsCert]!)[0]!, newCa);

    // Step 1 before step 2: every bundle carried the new CA for the delay before the CA was promoted.
    for (const b of bundles) {
      const v = versionBefore(w.history, b, reissuing!.seq)!;
      expect(carries(v, newCa)).toBe(true);
      expect(changedAt(v) + delay).toBeLessThanOrEqual(reissuing!.at.getTime());
    }
    // No leaf signed by the new CA before every bundle (and the xDS trust, for its clients) carried it for the delay.
    const newLeaves = history.filter(
      (v) => leaves.includes(v.key) && v.view.data[secretKeys.tlsCert] && signedByNew(v),
    );
    expect(newLeaves.length).toBeGreaterThanOrEqual(leaves.length);
    for (const leaf of newLeaves) {
      expect(leaf.seq).toBeGreaterThan(reissuing!.seq);
      for (const b of bundles) {
        const v = versionBefore(w.history, b, leaf.seq)!;
        expect(carries(v, newCa), `${b} carries the new CA before ${leaf.key}`).toBe(true);
        expect(changedAt(v) + delay).toBeLessThanOrEqual(leaf.at.getTime());
      }
    }
    // Step 3 after step 2: the old CA left only when every leaf had been signed by the new one for the delay.
    const dropped = history.filter(
      (v) => bundles.includes(v.key) && !carries(v, oldCa) && carries(versionBefore(w.history, v.key, v.seq), oldCa),
    );
    expect(dropped.map((v) => v.key).sort()).toEqual([...bundles].sort());
    for (const drop of [stable!, ...dropped]) {
      const current = leaves.map((l) => versionBefore(w.history, l, drop.seq + (drop.key === l ? 0 : 1))!);
      for (const v of current) {
        expect(signedByNew(v), `${v.key} signed by the new CA before the old one left ${drop.key}`).toBe(true);
        expect(issuedAt(v) + delay).toBeLessThanOrEqual(drop.at.getTime());
      }
    }
    // Nothing ever chained to a CA its verifiers did not carry.
    for (const leaf of history.filter((v) => leaves.includes(v.key) && v.key !== `${opns}/gatehouse-xds-tls`)) {
      const signer = signedByNew(leaf) ? newCa : oldCa;
      expect(
        carries(
          versionBefore(
            w.history,
            `${leaf.key.split('/')[0]}/${leaf.key.split('/')[1]!.split('-')[0]}-ca-bundle`,
            leaf.seq + 1,
          ),
          signer,
        ),
      ).toBe(true);
    }
    expect(startSeq).toBeGreaterThan(0);
    // Done: the condition no longer mentions a rotation.
    const status = await w.reconcileDataPlane('prod/eu');
    expect(status.condition).toMatchObject({ status: 'True', reason: 'Valid' });
  });

  it('starts when asked (gatehouse.dev/rotate), reports each step in the condition, and resumes from the Secrets alone', async () => {
    const w = world();
    await w.settle();
    const ca = w.get(opns, 'gatehouse-ca')!;
    w.put(opns, 'gatehouse-ca', ca.data, {
      annotations: { ...ca.annotations, [certificateAnnotations.rotate]: 'now' },
    });
    await w.settle();
    expect(w.get(opns, 'gatehouse-ca')!.annotations).toMatchObject({
      [certificateAnnotations.caPhase]: 'Adding',
      [certificateAnnotations.rotatedFor]: 'now',
      [certificateAnnotations.rotate]: 'now',
    });
    let status = (await w.reconcileDataPlane('prod/eu')).condition;
    expect(status).toMatchObject({ status: 'True', reason: 'Rotating' });
    expect(status.message).toContain('CA rotation step 1 of 3');
    // A new operator (a new world with the same Secrets, no memory) picks up where it was.
    const restarted = new MemoryWorld(w.now, w.planner);
    for (const [key, obj] of w.secrets) restarted.secrets.set(key, obj);
    for (const [key, def] of w.dataPlanes) restarted.dataPlanes.set(key, def);
    restarted.advance(delay);
    await restarted.settle();
    expect(restarted.get(opns, 'gatehouse-ca')!.annotations[certificateAnnotations.caPhase]).toBe('Reissuing');
    status = (await restarted.reconcileDataPlane('prod/eu')).condition;
    expect(status.reason).toBe('Rotating');
    expect(status.message).toContain('step 2 of 3');
    restarted.advance(delay);
    await restarted.settle();
    expect(restarted.get(opns, 'gatehouse-ca')!.annotations[certificateAnnotations.caPhase]).toBe('Stable');
    // The request was served once: no second rotation.
    restarted.advance(day);
    await restarted.settle();
    expect(restarted.events.filter((e) => e.reason === 'CARotationStarted')).toHaveLength(0);
    expect(w.events.filter((e) => e.reason === 'CARotationStarted')).toHaveLength(1);
  });
});

describe('user CA (spec.certificates.caSecretName)', () => {
  async function userCaWorld() {
    const w = new MemoryWorld(t0, { propagationDelayMs: delay });
    w.addDataPlane({ namespace: 'prod', name: 'eu', caSecretName: 'corp-ca' });
    const ca = await createCa({
      commonName: 'Corp CA 1',
      notBefore: new Date(t0.getTime() - day),
      notAfter: new Date(t0.getTime() + 365 * day),
    });
    // As cert-manager writes a CA Certificate's Secret.
    w.put(
      'prod',
      'corp-ca',
      { [secretKeys.tlsCert]: ca.certPem, [secretKeys.tlsKey]: ca.keyPem, [secretKeys.caCert]: ca.certPem },
      { type: 'kubernetes.io/tls' },
    );
    return { w, ca: parseCertificates(ca.certPem)[0]! };
  }

  it("signs the DataPlane's leaves with it; bundles and the xDS server trust it beside the operator CA", async () => {
    const { w, ca } = await userCaWorld();
    const { dataPlanes } = await w.settle();
    expect(isSignedBy(leafCert(w, 'prod', 'eu-envoy-tls'), ca)).toBe(true);
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual(fps([ca, caCert(w)]));
    expect(w.get('prod', 'eu-ca-bundle')!.annotations[certificateAnnotations.userCas]).toBe(ca.fingerprint);
    expect(fps(bundleCerts(w.get(opns, 'gatehouse-xds-tls')))).toEqual(fps([ca, caCert(w)]));
    expect(isSignedBy(leafCert(w, opns, 'gatehouse-xds-tls'), caCert(w))).toBe(true);
    expect(dataPlanes.get('prod/eu')!.certificates.map((c) => c.name)).toContain('corp-ca');
    // Never written by us.
    expect(w.history.filter((v) => v.key === 'prod/corp-ca').every((v) => !v.ours)).toBe(true);
  });

  it('says CANotFound when the Secret is missing, and issues nothing', async () => {
    const w = new MemoryWorld(t0, { propagationDelayMs: delay });
    w.addDataPlane({ namespace: 'prod', name: 'eu', caSecretName: 'nope' });
    const { dataPlanes } = await w.settle();
    expect(dataPlanes.get('prod/eu')!.condition).toMatchObject({ status: 'False', reason: 'CANotFound' });
    expect(dataPlanes.get('prod/eu')!.condition.message).toContain(
      'Secret nope (spec.certificates.caSecretName) does not exist',
    );
    expect(w.secrets.has('prod/eu-envoy-tls')).toBe(false);
    // The bundle still carries the operator CA (its rotation must not stall on this DataPlane).
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual([caCert(w).fingerprint]);
  });

  it("follows the user's CA rotation by overlap: new CA in the bundles, then leaves, then the old CA out", async () => {
    const { w, ca: first } = await userCaWorld();
    await w.settle();
    const start = w.history.length;
    w.advance(day);
    const next = await createCa({
      commonName: 'Corp CA 2',
      notBefore: w.now,
      notAfter: new Date(w.now.getTime() + 365 * day),
    });
    const second = parseCertificates(next.certPem)[0]!;
    w.put('prod', 'corp-ca', {
      [secretKeys.tlsCert]: next.certPem,
      [secretKeys.tlsKey]: next.keyPem,
      [secretKeys.caCert]: next.certPem,
    });
    let outcome = (await w.settle()).dataPlanes.get('prod/eu')!;
    // Step 1: both in the bundle; the leaves wait.
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual(fps([first, second, caCert(w)]));
    expect(isSignedBy(leafCert(w, 'prod', 'eu-envoy-tls'), first)).toBe(true);
    expect(outcome.condition).toMatchObject({ status: 'True', reason: 'Rotating' });
    await w.runUntil(() => fps(bundleCerts(w.get('prod', 'eu-ca-bundle'))).length === 2);
    outcome = (await w.settle()).dataPlanes.get('prod/eu')!;
    expect(fps(bundleCerts(w.get('prod', 'eu-ca-bundle')))).toEqual(fps([second, caCert(w)]));
    expect(fps(bundleCerts(w.get(opns, 'gatehouse-xds-tls')))).toEqual(fps([second, caCert(w)]));
    for (const name of ['eu-envoy-tls', 'eu-extproc-tls'])
      expect(isSignedBy(leafCert(w, 'prod', name), second)).toBe(true);
    const history = w.history
      .slice(start)
      .filter((v) => v.ours)
      .map((v) => v.key);
    const firstLeaf = history.findIndex((k) => k === 'prod/eu-envoy-tls' || k === 'prod/eu-extproc-tls');
    expect(history.indexOf('prod/eu-ca-bundle')).toBeLessThan(firstLeaf);
    expect(history.indexOf(`${opns}/gatehouse-xds-tls`)).toBeLessThan(firstLeaf);
    expect(history.lastIndexOf('prod/eu-ca-bundle')).toBeGreaterThan(history.lastIndexOf('prod/eu-extproc-tls'));
    expect(outcome.condition).toMatchObject({ status: 'True', reason: 'Valid' });
  });
});

describe('the admission webhook certificate', () => {
  const webhookKey = `${opns}/gatehouse-webhook-tls`;
  const caKey = `${opns}/gatehouse-ca`;
  /** What the caBundle keeper puts in the configuration at a moment: every CA of the operator CA Secret. */
  const trustAt = (w: MemoryWorld, seq: number) => {
    const v = versionBefore(w.history, caKey, seq);
    return [secretKeys.caCert, secretKeys.nextCert, secretKeys.previousCert].flatMap((k) =>
      v?.view.data[k] ? parseCertificates(v.view.data[k]).map((c) => c.fingerprint) : [],
    );
  };
  const anchorOf = (v: Version, cas: CertInfo[]) =>
    cas.find((ca) => isSignedBy(parseCertificates(v.view.data[secretKeys.tlsCert]!)[0]!, ca))!.fingerprint;

  it('is issued with its Service names and the extra address, serverAuth only', async () => {
    const w = world();
    w.webhook = { dns: [], ips: ['127.0.0.1'] };
    await w.settle();
    const cert = leafCert(w, opns, 'gatehouse-webhook-tls');
    expect(cert.dns).toContain(`gatehouse-webhook.${opns}.svc`);
    expect(cert.ips).toEqual(['127.0.0.1']);
    expect(cert.usages).toEqual(['serverAuth']);
    expect(isSignedBy(cert, caCert(w))).toBe(true);
    expect(w.events.some((e) => e.regarding === `Secret/${webhookKey}` && e.reason === 'CertificateIssued')).toBe(true);
  });

  it('through a CA rotation, always chains to a CA of the operator trust (the caBundle), and the old CA leaves only after it moved', async () => {
    const w = world({ caDurationMs: 30 * day, maxRequeueMs: 1000 * day });
    w.webhook = { dns: [], ips: [] };
    await w.settle();
    const oldCa = caCert(w);
    const start = w.history.length;
    await w.runUntil(() => w.events.some((e) => e.reason === 'CARotationCompleted'));
    const history = w.history.slice(start);
    const adding = history.find((v) => v.key === caKey && v.view.data[secretKeys.nextCert])!;
    const newCa = parseCertificates(adding.view.data[secretKeys.nextCert]!)[0]!;
    const versions = w.history.filter((v) => v.key === webhookKey);
    expect(versions.length).toBeGreaterThanOrEqual(2);
    for (const v of versions) expect(trustAt(w, v.seq + 1)).toContain(anchorOf(v, [oldCa, newCa]));
    // Every CA Secret version: the webhook certificate live then chains to a CA it trusts.
    for (const ca of w.history.filter((v) => v.key === caKey && v.seq > versions[0]!.seq)) {
      const live = versionBefore(w.history, webhookKey, ca.seq)!;
      expect(trustAt(w, ca.seq + 1), `CA version ${ca.seq}`).toContain(anchorOf(live, [oldCa, newCa]));
    }
    expect(anchorOf(versions.at(-1)!, [oldCa, newCa])).toBe(newCa.fingerprint);
  });
});
