// A small, fast, seedable PRNG for the fuzz tests (frames, segment tables):
// each run prints its seed, and the same seed replays it exactly.

/** mulberry32: numbers from 0 to `below` - 1, the same sequence for the same seed. */
export function prng(seed: number): (below: number) => number {
  let state = seed >>> 0;
  return (below) => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * below);
  };
}
