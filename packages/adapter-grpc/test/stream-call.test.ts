// The host end of a Stream RPC, over a fake duplex call that records writes and cancels.

import { EventEmitter } from 'node:events';
import type { ClientDuplexStream, ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import type { StreamReply, StreamRequest } from '../src/wire/proto.js';
import { StreamCall } from '../src/wire/stream-call.js';

class FakeCall extends EventEmitter {
  readonly writes: StreamRequest[] = [];
  destroyed = false;
  cancels = 0;
  write(request: StreamRequest): boolean {
    this.writes.push(request);
    return true;
  }
  cancel(): void {
    this.cancels += 1;
    this.destroyed = true;
  }
  item(text: string): void {
    this.emit('data', { message: 'item', item: Buffer.from(text) } as StreamReply);
  }
}

function streamOf(fake: FakeCall): StreamCall<string> {
  return new StreamCall<string>(
    fake as unknown as ClientDuplexStream<StreamRequest, StreamReply>,
    { op: 'OP_CALL', target: 'gen', handle: 0, session: '', serializer: 'json', payload: new Uint8Array() },
    {
      window: 8,
      description: 'gen()',
      timeoutMs: 0,
      decode: (body) => {
        const text = Buffer.from(body).toString();
        if (text === 'bad') throw new Error('undecodable item');
        return text;
      },
      mapError: async (error: ServiceError) => error,
      onSettled: () => {},
    },
  );
}

describe('StreamCall', () => {
  it('answers overlapping next() calls in order, each once', async () => {
    const fake = new FakeCall();
    const stream = streamOf(fake);
    const first = stream.next();
    const second = stream.next();
    const third = stream.next();
    fake.item('a');
    fake.item('b');
    fake.emit('end');
    expect(await first).toEqual({ done: false, value: 'a' });
    expect(await second).toEqual({ done: false, value: 'b' });
    expect(await third).toEqual({ done: true, value: undefined });
  });

  it('throws an undecodable item once, drops the items behind it and cancels the RPC', async () => {
    const fake = new FakeCall();
    const stream = streamOf(fake);
    for (const text of ['1', 'bad', '3']) fake.item(text);
    const seen: string[] = [];
    for (let i = 0; i < 4; i += 1) {
      seen.push(
        await stream.next().then(
          (result) => (result.done ? 'done' : result.value),
          (error: Error) => `throw ${error.message}`,
        ),
      );
    }
    expect(seen).toEqual(['1', 'throw undecodable item', 'done', 'done']);
    expect(fake.cancels).toBe(1);
  });

  it('gives a failure to the first waiting consumer and the end to the others', async () => {
    const fake = new FakeCall();
    const stream = streamOf(fake);
    const first = stream.next();
    const second = stream.next();
    stream.fail(new Error('server gone'));
    await expect(first).rejects.toThrow('server gone');
    expect(await second).toEqual({ done: true, value: undefined });
  });
});
