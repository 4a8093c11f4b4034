import { describe, expect, it } from 'vitest';
import { classify } from './classify.ts';
import { remediationPolicy } from './policy.ts';
import { volumeFailureOf, type PodEvent } from './pods.ts';
import { at, MIN, node, pod, T0 } from './pods.test-support.ts';

const policy = remediationPolicy({ remediation: { enabled: true, notReadyFor: '5m' } });

describe('classify', () => {
  it('calls a Ready, Running pod healthy', () => {
    expect(classify(pod(), node(), T0, policy)).toEqual({ zombie: false });
  });

  it('leaves Pending, Succeeded and Failed pods alone', () => {
    for (const phase of ['Pending', 'Succeeded', 'Failed'])
      expect(classify(pod({ phase }), node(), T0, policy).zombie).toBe(false);
  });

  describe('VolumeStuck: scheduled, no container started, and its volumes fail to attach or mount', () => {
    const creating = pod({ phase: 'Pending', waiting: 'ContainerCreating' });
    const failure = { reason: 'FailedMount', message: 'MountVolume.SetUp failed for volume "data" : not found' };

    it('is a zombie past stuckCreatingFor (default 10m) with a volume failure, naming node, time and failure', () => {
      expect(classify(creating, node(), T0, policy, undefined, failure)).toEqual({
        zombie: true,
        kind: 'VolumeStuck',
        message:
          'scheduled to node node-a at 2026-03-01T08:00:00Z and no container started (stuckCreatingFor 10m): FailedMount: MountVolume.SetUp failed for volume "data" : not found',
      });
    });

    it('is no zombie without a volume failure (an image pull takes its time), nor before the bound', () => {
      expect(classify(creating, node(), T0, policy)).toEqual({ zombie: false });
      const patient = remediationPolicy({ remediation: { stuckCreatingFor: '3h' } });
      expect(classify(creating, node(), T0, patient, undefined, failure)).toEqual({
        zombie: false,
        recheckAt: at(60 * MIN),
      });
    });

    it('is no zombie once a container ran (a crash loop is judged as one)', () => {
      const ran = pod({ phase: 'Pending', waiting: 'CrashLoopBackOff', restarts: 1, lastTerminatedAt: -MIN });
      expect(classify(ran, node(), T0, policy, undefined, failure).zombie).toBe(false);
    });

    it("takes the pod's latest volume failure, by uid; other pods' and other reasons' Events do not count", () => {
      const event = (name: string, reason: string, last: string, about: Partial<PodEvent['involvedObject']> = {}) => ({
        metadata: { name, namespace: 'shop' },
        involvedObject: { kind: 'Pod', name: creating.metadata.name, uid: creating.metadata.uid, ...about },
        reason,
        message: name,
        lastTimestamp: last,
      });
      const events: PodEvent[] = [
        event('old', 'FailedMount', '2026-03-01T09:00:00Z'),
        event('new', 'FailedAttachVolume', '2026-03-01T09:30:00Z'),
        event('other-reason', 'BackOff', '2026-03-01T09:50:00Z'),
        event('earlier-pod-same-name', 'FailedMount', '2026-03-01T09:55:00Z', { uid: 'uid-gone' }),
        event('other-pod', 'FailedMount', '2026-03-01T09:55:00Z', { name: 'eu-extproc-2' }),
      ];
      expect(volumeFailureOf(creating, events)).toEqual({ reason: 'FailedAttachVolume', message: 'new' });
      expect(volumeFailureOf(creating, events.slice(2))).toBeUndefined();
    });
  });

  describe('NotReady: Running but not Ready for notReadyFor', () => {
    const notReady = pod({ ready: false, readySince: 0 });

    it('is healthy one millisecond before the bound, and says when to look again', () => {
      expect(classify(notReady, node(), at(5 * MIN - 1), policy)).toEqual({ zombie: false, recheckAt: at(5 * MIN) });
    });

    it('is a zombie at the bound and after it', () => {
      for (const t of [5 * MIN, 60 * MIN]) {
        const c = classify(notReady, node(), at(t), policy);
        expect(c).toMatchObject({ zombie: true, kind: 'NotReady' });
        // A time, not an age: the message stays the same as time passes.
        expect(c.zombie && c.message).toBe('Running but not Ready since 2026-03-01T10:00:00Z (notReadyFor 5m)');
      }
    });

    it("follows the DataPlane's notReadyFor", () => {
      const slow = remediationPolicy({ remediation: { notReadyFor: '1h' } });
      expect(classify(notReady, node(), at(30 * MIN), slow).zombie).toBe(false);
      expect(classify(notReady, node(), at(60 * MIN), slow).zombie).toBe(true);
    });

    it("counts from the pod's start when it has no Ready condition yet", () => {
      const p = pod({ ready: false });
      p.status!.conditions = p.status!.conditions!.filter((c) => c.type !== 'Ready');
      p.status!.startTime = T0.toISOString();
      expect(classify(p, node(), at(4 * MIN), policy).zombie).toBe(false);
      expect(classify(p, node(), at(5 * MIN), policy).zombie).toBe(true);
    });
  });

  describe('CrashLoop', () => {
    it('is a crash loop at the restart threshold in CrashLoopBackOff', () => {
      const c = classify(
        pod({ restarts: 5, waiting: 'CrashLoopBackOff', ready: false, readySince: 0 }),
        node(),
        at(MIN),
        policy,
      );
      expect(c).toMatchObject({ zombie: true, kind: 'CrashLoop' });
      expect(c.zombie && c.message).toContain('restarted 5 times and is in CrashLoopBackOff');
    });

    it('is not one below the threshold (a crash or two is not a loop)', () => {
      expect(
        classify(
          pod({ restarts: 4, waiting: 'CrashLoopBackOff', ready: false, readySince: 0 }),
          node(),
          at(MIN),
          policy,
        ).zombie,
      ).toBe(false);
    });

    it('is one while Ready between crashes, when the last crash is within the window', () => {
      const p = pod({ restarts: 7, lastTerminatedAt: 0 });
      expect(classify(p, node(), at(10 * MIN), policy)).toMatchObject({ zombie: true, kind: 'CrashLoop' });
      expect(classify(p, node(), at(10 * MIN + 1), policy).zombie).toBe(false);
    });

    it("takes the operator's threshold", () => {
      const strict = remediationPolicy({}, { crashLoop: { restarts: 2, windowMs: MIN } });
      expect(classify(pod({ restarts: 2, lastTerminatedAt: 0 }), node(), at(MIN), strict).zombie).toBe(true);
      expect(classify(pod({ restarts: 2, lastTerminatedAt: 0 }), node(), at(MIN + 1), strict).zombie).toBe(false);
    });
  });

  describe('DeepCheckFailed', () => {
    it('is a zombie after deepCheckFailures consecutive failures of a kubelet-Ready pod', () => {
      expect(
        classify(pod(), node(), T0, policy, { consecutiveFailures: 2, message: 'health: NOT_SERVING' }).zombie,
      ).toBe(false);
      const c = classify(pod(), node(), T0, policy, { consecutiveFailures: 3, message: 'health: NOT_SERVING' });
      expect(c).toEqual({
        zombie: true,
        kind: 'DeepCheckFailed',
        message: 'Ready to the kubelet, but failed 3 or more deep checks in a row (last: health: NOT_SERVING)',
      });
    });

    it('leaves a not-Ready pod to the NotReady rule', () => {
      const c = classify(pod({ ready: false, readySince: 0 }), node(), at(MIN), policy, {
        consecutiveFailures: 9,
        message: 'x',
      });
      expect(c.zombie).toBe(false);
    });
  });

  describe('TerminatingOnNotReadyNode', () => {
    it('is a zombie when the node is NotReady', () => {
      const c = classify(pod({ deletedAt: 0 }), node('node-a', { ready: false, since: -MIN }), at(MIN), policy);
      expect(c).toMatchObject({ zombie: true, kind: 'TerminatingOnNotReadyNode' });
      expect(c.zombie && c.message).toBe(
        'Terminating since 2026-03-01T10:00:00Z on node node-a, which is NotReady since 2026-03-01T09:59:00Z: no kubelet will confirm the deletion',
      );
    });

    it('is a zombie when the node is tainted out-of-service', () => {
      expect(classify(pod({ deletedAt: 0 }), node('node-a', { outOfService: true }), at(MIN), policy)).toMatchObject({
        zombie: true,
        kind: 'TerminatingOnNotReadyNode',
      });
    });

    it('is not one on a Ready node (its kubelet finishes the deletion), nor when the node is gone (the pod GC does)', () => {
      expect(classify(pod({ deletedAt: 0 }), node(), at(60 * MIN), policy).zombie).toBe(false);
      expect(classify(pod({ deletedAt: 0 }), undefined, at(60 * MIN), policy).zombie).toBe(false);
    });

    it('takes precedence: a terminating pod is never evicted again for being not Ready', () => {
      const c = classify(pod({ deletedAt: 0, ready: false, readySince: -60 * MIN }), node(), at(MIN), policy);
      expect(c.zombie).toBe(false);
    });
  });
});
