import { describe, expect, it } from 'vitest';
import { CallCounts, HandleRef, handleIdsByOwner } from '../src/index.js';

describe('CallCounts', () => {
  it('counts a call in flight until it finishes, and a stream left early as neither success nor failure', () => {
    const counts = new CallCounts();
    counts.started();
    counts.started();
    counts.started();
    expect(counts.stats().inFlight).toBe(3);
    counts.succeeded();
    counts.finished();
    counts.failed();
    counts.finished();
    counts.finished(); // a stream whose consumer broke off
    expect(counts.stats()).toEqual({
      inFlight: 0,
      callsStarted: 3,
      callsSucceeded: 1,
      callsFailed: 1,
      liveHandles: 0,
    });
  });

  it('never counts fewer than zero live handles', () => {
    const counts = new CallCounts();
    counts.handleMade();
    counts.handlesReleased(3);
    expect(counts.stats().liveHandles).toBe(0);
  });
});

describe('handleIdsByOwner', () => {
  it('groups handle ids by the worker holding them, in order, leaving out handles without one', () => {
    const handle = (id: number, owner?: string) => new HandleRef({ id, type: 't' }, owner);
    const grouped = handleIdsByOwner([handle(1, 'w1'), handle(2, 'w2'), handle(3), handle(4, 'w1')]);
    expect([...grouped]).toEqual([
      ['w1', [1, 4]],
      ['w2', [2]],
    ]);
  });
});
