// The host end of a stream, with a channel that records what it is asked to do.

import { describe, expect, it } from 'vitest';
import { type StreamChannel, StreamReceiver } from '../src/transport/stream-receiver.js';

function channel(): StreamChannel & { credits: number[]; cancels: number } {
  const record = {
    credits: [] as number[],
    cancels: 0,
    credit: (count: number) => void record.credits.push(count),
    cancel: () => {
      record.cancels += 1;
    },
    decode: (body: Uint8Array) => {
      const text = Buffer.from(body).toString();
      if (text === 'bad') throw new Error('undecodable item');
      return text;
    },
  };
  return record;
}

const item = (text: string) => Buffer.from(text);

describe('StreamReceiver', () => {
  it('answers overlapping next() calls in order, each once', async () => {
    const receiver = new StreamReceiver<string>(channel(), 8);
    const first = receiver.next();
    const second = receiver.next();
    const third = receiver.next();
    receiver.push(item('a'));
    receiver.push(item('b'));
    receiver.end();
    expect(await first).toEqual({ done: false, value: 'a' });
    expect(await second).toEqual({ done: false, value: 'b' });
    expect(await third).toEqual({ done: true, value: undefined });
  });

  it('throws an undecodable item once, drops the items behind it and closes the generator', async () => {
    const ch = channel();
    const receiver = new StreamReceiver<string>(ch, 8);
    for (const text of ['1', 'bad', '3', '4']) receiver.push(item(text));
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      seen.push(
        await receiver.next().then(
          (result) => (result.done ? 'done' : result.value),
          (error: Error) => `throw ${error.message}`,
        ),
      );
    }
    expect(seen).toEqual(['1', 'throw undecodable item', 'done', 'done']);
    expect(ch.cancels).toBe(1);
    expect(receiver.open).toBe(false);
  });

  it('gives a failure to the first waiting consumer and the end to the others', async () => {
    const receiver = new StreamReceiver<string>(channel(), 8);
    const first = receiver.next();
    const second = receiver.next();
    receiver.fail(new Error('worker crashed'));
    await expect(first).rejects.toThrow('worker crashed');
    expect(await second).toEqual({ done: true, value: undefined });
  });

  it('grants credit in batches of half the window as items are consumed', async () => {
    const ch = channel();
    const receiver = new StreamReceiver<string>(ch, 4);
    for (const text of ['a', 'b', 'c', 'd']) receiver.push(item(text));
    for (let i = 0; i < 4; i += 1) await receiver.next();
    expect(ch.credits).toEqual([2, 2]);
  });

  it('closes the generator when the consumer stops early, and reports done once', async () => {
    const ch = channel();
    const receiver = new StreamReceiver<string>(ch, 4);
    let done = 0;
    receiver.onDone = () => {
      done += 1;
    };
    receiver.push(item('a'));
    await receiver.return();
    await receiver.return();
    expect(ch.cancels).toBe(1);
    expect(done).toBe(1);
  });
});
