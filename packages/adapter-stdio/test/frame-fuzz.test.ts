// Seeded fuzz of the host's frame decoder: golden frames with bits flipped,
// bytes cut, inserted or deleted, length fields corrupted, and random bytes.
// Whatever comes in, the decoder throws only MalformedFrameError, never hangs,
// never holds (or allocates) more than what arrived, and never lets a lost
// frame boundary pass: every frame it hands out is one that was sent.
//
// FRAME_FUZZ_SEED=<n> replays a run, FRAME_FUZZ_CASES=<n> makes it longer,
// FRAME_FUZZ_ONLY=<case> replays one case of it.

import { loadVectors } from '@snakebridge/vectors';
import { describe, expect, it } from 'vitest';
import { encodeFrame, type Frame, FrameReader, HEADER_SIZE, MalformedFrameError } from '../src/index.js';
import { writeHeader } from '../src/protocol/frames.js';
import { prng } from './seeded-random.js';

const SEED = Number(process.env.FRAME_FUZZ_SEED ?? Math.floor(Math.random() * 0xffffffff));
const CASES = Number(process.env.FRAME_FUZZ_CASES ?? 10_000);
const ONLY = process.env.FRAME_FUZZ_ONLY === undefined ? undefined : Number(process.env.FRAME_FUZZ_ONLY);
const MAX_FRAME_BYTES = 4096;

type Random = ReturnType<typeof prng>;

const golden = loadVectors<{ hex: string }>('protocol/frames.json').map((v) => Buffer.from(v.hex, 'hex'));
/** A frame whose body spans many chunks. */
const large = encodeFrame({ kind: 0x11, id: 3, serializer: 2 }, Buffer.alloc(3000, 0xab));

function randomBytes(random: Random, count: number): Buffer {
  const bytes = Buffer.alloc(count);
  for (let i = 0; i < count; i++) bytes[i] = random(256);
  return bytes;
}

/** What was sent: frames back to back, and where each starts. */
function sentFrames(random: Random): Buffer[] {
  const count = 1 + random(6);
  return Array.from({ length: count }, () => (random(10) === 0 ? large : (golden[random(golden.length)] as Buffer)));
}

type Mutation = 'flip' | 'truncate' | 'insert' | 'delete' | 'length' | 'length-rechecked' | 'random';
const MUTATIONS: readonly Mutation[] = ['flip', 'truncate', 'insert', 'delete', 'length', 'length-rechecked', 'random'];

/** The bytes the decoder gets: what was sent, damaged one way. */
function mutate(mutation: Mutation, frames: Buffer[], random: Random): Buffer {
  const data = Buffer.concat(frames);
  const at = random(data.length + 1);
  switch (mutation) {
    case 'flip': {
      const copy = Buffer.from(data);
      for (let n = 1 + random(4); n > 0; n--) {
        const bit = random(copy.length * 8);
        copy[bit >> 3] = (copy[bit >> 3] as number) ^ (1 << (bit & 7));
      }
      return copy;
    }
    case 'truncate':
      return data.subarray(0, at);
    case 'insert':
      return Buffer.concat([data.subarray(0, at), randomBytes(random, 1 + random(32)), data.subarray(at)]);
    case 'delete':
      return Buffer.concat([data.subarray(0, at), data.subarray(at + 1 + random(32))]);
    case 'length':
    case 'length-rechecked':
      return corruptLength(frames, random, mutation === 'length-rechecked');
    case 'random':
      return randomBytes(random, 1 + random(200));
  }
}

/** One frame's length field set to a boundary or random value; with `recheck`, its checksum made to match (a sender bug). */
function corruptLength(frames: Buffer[], random: Random, recheck: boolean): Buffer {
  const copies = frames.map((frame) => Buffer.from(frame));
  const victim = copies[random(copies.length)] as Buffer;
  const overhead = HEADER_SIZE - 4;
  const values = [0, overhead - 1, overhead, overhead + 1, MAX_FRAME_BYTES + overhead, MAX_FRAME_BYTES + overhead + 1];
  values.push(0xffffffff, random(0x100000000));
  const length = values[random(values.length)] as number;
  if (recheck) {
    writeHeader(
      victim,
      0,
      {
        kind: victim[4] as number,
        flags: victim[5] as number,
        serializer: victim[6] as number,
        id: victim.readUInt32LE(8),
        aux: victim.readUInt32LE(12),
      },
      Math.max(0, length - overhead),
    );
  }
  victim.writeUInt32LE(length, 0);
  return Buffer.concat(copies);
}

interface Outcome {
  readonly frames: Frame[];
  readonly error: unknown;
  /** Largest allocation seen during a push, less the bytes that had arrived by then and were not handed out. */
  readonly overAllocated: number;
  /** Largest bufferedBytes seen, less the bytes that had arrived and were not handed out yet. */
  readonly overHeld: number;
}

/** Feeds `data` in random chunks, measuring what the decoder holds and allocates after each push. */
function decode(data: Buffer, random: Random): Outcome {
  const decoder = new FrameReader(MAX_FRAME_BYTES);
  const frames: Frame[] = [];
  let unconsumed = 0;
  let overAllocated = Number.NEGATIVE_INFINITY;
  let overHeld = Number.NEGATIVE_INFINITY;
  try {
    for (let start = 0; start < data.length; ) {
      const chunk = data.subarray(start, start + 1 + random(random(4) === 0 ? 4096 : 64));
      start += chunk.length;
      unconsumed += chunk.length;
      const arrived = unconsumed;
      const biggest = watchAllocations(() =>
        decoder.push(chunk, (frame) => {
          frames.push(frame);
          unconsumed -= HEADER_SIZE + frame.body.length;
        }),
      );
      overAllocated = Math.max(overAllocated, biggest - arrived);
      overHeld = Math.max(overHeld, decoder.bufferedBytes - unconsumed);
    }
  } catch (error) {
    return { frames, error, overAllocated, overHeld };
  }
  return { frames, error: undefined, overAllocated, overHeld };
}

/** Runs `run`, returning the size of the largest Buffer it allocated through Buffer's factories. */
function watchAllocations(run: () => void): number {
  const { concat, allocUnsafe, alloc, from } = Buffer;
  let biggest = 0;
  const seen = (size: number) => {
    biggest = Math.max(biggest, size);
  };
  Buffer.concat = (list: readonly Uint8Array[], length?: number) => {
    seen(length ?? list.reduce((sum, part) => sum + part.length, 0));
    return concat.call(Buffer, list, length);
  };
  Buffer.allocUnsafe = (size: number) => {
    seen(size);
    return allocUnsafe.call(Buffer, size);
  };
  Buffer.alloc = ((size: number, ...rest: never[]) => {
    seen(size);
    return alloc.call(Buffer, size, ...rest);
  }) as typeof Buffer.alloc;
  Buffer.from = ((value: { length?: number }, ...rest: never[]) => {
    seen(typeof value?.length === 'number' ? value.length : 0);
    return (from as (...args: unknown[]) => Buffer).call(Buffer, value, ...rest);
  }) as typeof Buffer.from;
  try {
    run();
  } finally {
    Object.assign(Buffer, { concat, allocUnsafe, alloc, from });
  }
  return biggest;
}

/** True if `frames` were all sent, in the order sent (some may be missing, none may be made up). */
function sentInOrder(frames: readonly Frame[], sent: readonly Buffer[]): boolean {
  let next = 0;
  for (const frame of frames) {
    while (next < sent.length && !sameHeader(frame, sent[next] as Buffer)) next++;
    if (next === sent.length) return false;
    next++;
  }
  return true;
}

function sameHeader(frame: Frame, sent: Buffer): boolean {
  return (
    frame.kind === sent[4] &&
    frame.flags === sent[5] &&
    frame.serializer === sent[6] &&
    frame.id === sent.readUInt32LE(8) &&
    frame.aux === sent.readUInt32LE(12) &&
    frame.body.length === sent.length - HEADER_SIZE
  );
}

/** What is wrong with one case's outcome, if anything. */
function problem(mutation: Mutation, sent: Buffer[], data: Buffer, outcome: Outcome): string | undefined {
  if (outcome.error !== undefined && !MalformedFrameError.is(outcome.error)) {
    return `threw an untyped error: ${String(outcome.error)}`;
  }
  if (outcome.frames.length > data.length / HEADER_SIZE)
    return `made ${outcome.frames.length} frames of ${data.length} bytes`;
  if (outcome.overHeld > 0) return `held ${outcome.overHeld} bytes more than had arrived`;
  if (outcome.overAllocated > HEADER_SIZE) return `allocated ${outcome.overAllocated} bytes more than had arrived`;
  // A checksum made to match a corrupted length is a sender's bug, not damage on the way: anything may follow.
  if (mutation !== 'length-rechecked' && !sentInOrder(outcome.frames, mutation === 'random' ? [] : sent)) {
    return 'handed out a frame that was never sent: a lost boundary went unnoticed';
  }
  return undefined;
}

describe('frame decoder fuzz', () => {
  it(`survives ${CASES} damaged and random inputs (seed ${SEED})`, () => {
    const counts = new Map<string, number>();
    for (let index = ONLY ?? 0; index < (ONLY === undefined ? CASES : ONLY + 1); index++) {
      const random = prng(SEED ^ Math.imul(index + 1, 0x9e3779b1));
      const mutation = MUTATIONS[random(MUTATIONS.length)] as Mutation;
      const sent = sentFrames(random);
      const data = mutate(mutation, sent, random);
      const outcome = decode(data, random);
      const wrong = problem(mutation, sent, data, outcome);
      if (wrong !== undefined) {
        expect.fail(`${mutation}: ${wrong}. Replay: FRAME_FUZZ_SEED=${SEED} FRAME_FUZZ_ONLY=${index}`);
      }
      const key = MalformedFrameError.is(outcome.error) ? outcome.error.fault : 'accepted';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    }
    if (process.env.FRAME_FUZZ_REPORT) console.info(`seed ${SEED}:`, Object.fromEntries(counts));
    if (ONLY === undefined && CASES >= 1_000) {
      // Damage is caught by more than one rule: the checksum, and the fields it never gets to.
      expect(counts.get('checksum') ?? 0, `seed ${SEED}`).toBeGreaterThan(0);
      expect(counts.get('accepted') ?? 0, `seed ${SEED}`).toBeGreaterThan(0);
    }
  });
});
