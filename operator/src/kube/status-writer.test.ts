import { describe, expect, it } from 'vitest';
import { announcements, mergeStatus } from './status-writer.ts';

const now = '2026-11-28T12:00:00Z';
const earlier = '2026-11-01T00:00:00Z';

describe('mergeStatus', () => {
  it('keeps lastTransitionTime when a condition keeps its status, moves it when the status changes', () => {
    const live = {
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: '',
          lastTransitionTime: earlier,
          observedGeneration: 1,
        },
        {
          type: 'Ready',
          status: 'True',
          reason: 'Ready',
          message: '',
          lastTransitionTime: earlier,
          observedGeneration: 1,
        },
      ],
    };
    const { status, transitions } = mergeStatus(
      live,
      {
        conditions: [
          { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'still fine' },
          { type: 'Ready', status: 'False', reason: 'SyncPending', message: 'waiting' },
        ],
      },
      2,
      now,
    );
    expect(status).toEqual({
      observedGeneration: 2,
      conditions: [
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: 'still fine',
          observedGeneration: 2,
          lastTransitionTime: earlier,
        },
        {
          type: 'Ready',
          status: 'False',
          reason: 'SyncPending',
          message: 'waiting',
          observedGeneration: 2,
          lastTransitionTime: now,
        },
      ],
    });
    expect(transitions).toEqual([
      { type: 'Ready', from: 'True', fromReason: 'Ready', to: 'False', reason: 'SyncPending', message: 'waiting' },
    ]);
  });

  it('keeps conditions of types another controller owns, sets and removes other members', () => {
    const live = {
      configVersion: 'old',
      stale: 'x',
      conditions: [
        { type: 'CertificatesReady', status: 'True', reason: 'Issued', message: '', lastTransitionTime: earlier },
      ],
    };
    const { status } = mergeStatus(
      live,
      {
        conditions: [{ type: 'Accepted', status: 'True', reason: 'Accepted', message: '' }],
        configVersion: 'new',
        stale: undefined,
      },
      1,
      now,
    );
    expect(status).toEqual({
      configVersion: 'new',
      observedGeneration: 1,
      // The live order is kept; a new type goes last.
      conditions: [
        { type: 'CertificatesReady', status: 'True', reason: 'Issued', message: '', lastTransitionTime: earlier },
        {
          type: 'Accepted',
          status: 'True',
          reason: 'Accepted',
          message: '',
          observedGeneration: 1,
          lastTransitionTime: now,
        },
      ],
    });
  });

  it('truncates messages to the API limit', () => {
    const { status } = mergeStatus(
      undefined,
      { conditions: [{ type: 'Accepted', status: 'False', reason: 'Invalid', message: 'x'.repeat(40_000) }] },
      1,
      now,
    );
    expect((status.conditions as { message: string }[])[0]!.message.length).toBe(32_768);
  });

  it('two controllers writing their own conditions in turn converge: neither sees the other reorder it', () => {
    let live: Record<string, unknown> = {};
    const a = { conditions: [{ type: 'Ready', status: 'True' as const, reason: 'Ready', message: '' }] };
    const b = { conditions: [{ type: 'CertificatesReady', status: 'True' as const, reason: 'Valid', message: '' }] };
    live = mergeStatus(live, a, 1, now).status;
    live = mergeStatus(live, b, 1, now, { observedGeneration: false }).status;
    expect(mergeStatus(live, a, 1, now).status).toEqual(live);
    expect(mergeStatus(live, b, 1, now, { observedGeneration: false }).status).toEqual(live);
  });
});

describe('announcements: one root cause, one Warning', () => {
  const t = (type: string, from: 'True' | 'False' | undefined, to: 'True' | 'False', reason = 'Invalid') => ({
    type,
    from,
    to,
    reason,
    message: `${type} says so`,
  });

  it('an invalid object (Accepted, Programmed, Ready False, Stalled True at once): one Warning, for the cause, naming the rest', () => {
    const events = announcements([
      t('Accepted', undefined, 'False'),
      t('ResolvedRefs', undefined, 'True', 'ResolvedRefs'),
      t('Programmed', undefined, 'False', 'NotAccepted'),
      t('Ready', undefined, 'False'),
      t('Stalled', undefined, 'True'),
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Warning', transition: { type: 'Accepted' } });
    expect(events[0]!.also.map((a) => a.type)).toEqual(['Programmed', 'Ready', 'Stalled']);
  });

  it('the recovery: one Normal; a first True is routine and said nowhere', () => {
    const events = announcements([
      t('Accepted', 'False', 'True', 'Accepted'),
      t('Programmed', 'False', 'True', 'Programmed'),
      t('Stalled', 'True', 'False', 'Progressing'),
      t('ResolvedRefs', undefined, 'True', 'ResolvedRefs'),
    ]);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ type: 'Normal', transition: { type: 'Accepted' } });
    expect(events[0]!.also.map((a) => a.type)).toEqual(['Programmed', 'Stalled']);
    expect(announcements([t('Ready', undefined, 'True'), t('Stalled', undefined, 'False')])).toEqual([]);
  });

  it('progress is no Event: nodes taking a new generation (SyncPending), and its end', () => {
    expect(announcements([t('Ready', 'True', 'False', 'SyncPending')])).toEqual([]);
    expect(announcements([{ ...t('Ready', 'False', 'True', 'Synced'), fromReason: 'SyncPending' }])).toEqual([]);
    // A rejection is a problem, and its end a recovery.
    expect(announcements([t('Ready', 'True', 'False', 'Rejected')])).toMatchObject([{ type: 'Warning' }]);
    expect(announcements([{ ...t('Ready', 'False', 'True', 'Synced'), fromReason: 'Rejected' }])).toMatchObject([
      { type: 'Normal' },
    ]);
  });
});
