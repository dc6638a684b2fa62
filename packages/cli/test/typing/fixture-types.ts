// Compile-time tests of the declarations generated for the fixture module
// (vectors/introspect/typing_fixture.d.ts): what must compile does, and each
// `@ts-expect-error` line must fail to compile, or tsc reports the directive
// as unused. compile.test.ts runs tsc over this folder.

import { MockInvoker, pyObject } from '@snakebridge/adapter-mock';
import { type Bridge, callOptions, kwargs, setattr } from '@snakebridge/core';

export async function typedCalls(bridge: Bridge): Promise<void> {
  const fx = bridge.module('snakebridge.testing.typing_fixture');

  // Positional, keyword and mixed calls, with call options.
  const greeting: string = await fx.greet('Ada');
  await fx.greet('Ada', 'Hi', kwargs({ punctuation: '?' }));
  await fx.greet(kwargs({ name: 'Ada', greeting: 'Hi' }), callOptions({ timeoutMs: 1_000 }));
  // @ts-expect-error a misspelled function
  await fx.gret('Ada');
  // @ts-expect-error a wrong argument type
  await fx.greet(3);
  // @ts-expect-error a misspelled keyword
  await fx.greet('Ada', kwargs({ punctuaton: '?' }));
  // @ts-expect-error a keyword of the wrong type
  await fx.greet('Ada', kwargs({ punctuation: 1 }));
  // @ts-expect-error a required argument missing
  await fx.greet();
  // @ts-expect-error a positional-only parameter passed by keyword
  await fx.clamp(kwargs({ value: 3 }));
  // @ts-expect-error too many positional arguments
  await fx.clamp(1, 2, 3, 4);
  await fx.clamp(5, kwargs({ high: 2 }));

  // *args and **kwargs.
  const mean: number = await fx.mean(1, 2, 3);
  // @ts-expect-error *args of the wrong type
  await fx.mean(1, '2');
  await fx.describe(3, kwargs({ verbose: true, anything: false }));

  // Literal aliases, TypedDicts, NamedTuples, tuples and dicts.
  await fx.to_unit(1, 'cm');
  // @ts-expect-error not one of the literal's values
  await fx.to_unit(1, 'km');
  const stats = await fx.normalize({ a: 1, b: 2 }, { count: 1, mean: 2, label: 'x' });
  const label: string | undefined = stats.label;
  // @ts-expect-error a TypedDict missing a required key
  await fx.normalize({ a: 1 }, { count: 1 });
  const [x, y]: [number, number] = await fx.midpoint([0, 0], [2, 2]);
  const pair: [string, number] = await fx.parse_pair('a=1');
  const lengths: Record<string, number> = await fx.word_lengths(['a', 'bb']);

  // Classes: constructors, awaited properties, methods, class and static methods, __call__.
  const greeter = await fx.Greeter('Hi', kwargs({ punctuation: '.' }));
  const count: number = await greeter.count;
  const said: string = await greeter.greet('Bob', 2);
  const called: string = await greeter('Bob');
  const formal = await fx.Greeter.formal();
  const words: string[] = await fx.Greeter.words('a b');
  await setattr(greeter, 'punctuation', '?');
  // @ts-expect-error a value of the wrong type for the attribute
  await setattr(greeter, 'punctuation', 1);
  // @ts-expect-error an attribute the class does not have
  await setattr(greeter, 'punctuaton', '?');
  // @ts-expect-error a method the class does not have
  await greeter.greeet('Bob');

  // Pipelining: a call's result is a Promise of it, and its proxy before it arrives.
  const pending = fx.Greeter('Hi');
  const early: string = await pending.greet('Bob');
  const earlyCount: number = await pending.count;
  const arrived: string = await (await pending)('Bob');
  const chained: string = await fx.Greeter.formal().greet('Ann');
  await pending.catch(() => undefined).finally(() => undefined);
  // @ts-expect-error calling the object itself (its __call__) needs it to have arrived
  pending('Bob');
  // @ts-expect-error a method the class does not have, before it arrived too
  pending.greeet('Bob');
  // @ts-expect-error a plain result has no methods to call in Python
  fx.greet('Ada').upper();
  const chainedArea: number = await fx.area(fx.Greeter('Hi'));
  const streamed: number[] = [];
  for await (const n of fx.count_up(3)) streamed.push(n);
  {
    await using released = fx.Greeter('Hi');
    await released.greet('Eve');
  }

  // Generics, iteration, generators, async functions, callbacks, enums, protocols.
  const stack = await fx.Stack(['a', 'b']);
  const top: string = await stack.pop();
  const items: string[] = [];
  for await (const item of stack) items.push(item);
  const counted: number[] = [];
  for await (const n of await fx.count_up(3)) counted.push(n);
  const total: number = await fx.async_total([1, 2, 3]);
  const first: string = await fx.first(['a', 'b']);
  const sum: number = await fx.apply((a, b) => a + b, 1, 2);
  // @ts-expect-error a callback of the wrong shape
  await fx.apply((a: string) => a, 1, 2);
  const red = await fx.Color.RED;
  const name: 'RED' | 'GREEN' = await red.name;
  const next = await fx.tick(red);
  const area: number = await fx.area(greeter);
  const shouted: string | Uint8Array = await fx.shout('hi');

  // Untyped callables stay callable, with unknown results.
  const anything: unknown = await fx.untyped(1, 2, 3);

  // A module without declarations is untyped; module<T>() still takes hand-written types.
  await bridge.module('some_untyped_module').whatever(1, 2);
  const custom = bridge.module<{ answer(): Promise<42> }>('snakebridge.testing.typing_fixture');
  const answer: 42 = await custom.answer();
  void [greeting, mean, label, x, y, pair, lengths, count, said, called, formal, words, top, total, first, sum];
  void [name, next, area, shouted, anything, answer, early, earlyCount, arrived, chained, chainedArea];
}

export function typedMock(): void {
  const mock = new MockInvoker();
  mock.on('snakebridge.testing.typing_fixture.greet').withArgs('Ada').returns('Hello, Ada!');
  mock.on('snakebridge.testing.typing_fixture.greet').calls(({ args: [name] }) => `Hi ${String(name)}`);
  // @ts-expect-error a result of the wrong type
  mock.on('snakebridge.testing.typing_fixture.greet').returns(3);
  // @ts-expect-error arguments of the wrong type
  mock.on('snakebridge.testing.typing_fixture.greet').withArgs(3);
  // @ts-expect-error a misspelled callable of a declared module
  mock.on('snakebridge.testing.typing_fixture.gret');
  mock.on('snakebridge.testing.typing_fixture.count_up').yields([0, 1, 2]);
  // @ts-expect-error items of the wrong type
  mock.on('snakebridge.testing.typing_fixture.count_up').yields(['0']);
  mock.on('snakebridge.testing.typing_fixture.Greeter').returns({ greet: () => 'hi', count: 1 });
  // @ts-expect-error a stand-in whose method returns the wrong type
  mock.on('snakebridge.testing.typing_fixture.Greeter').returns({ greet: () => 1 });
  pyObject('snakebridge.testing.typing_fixture.Greeter', { count: 2 });
  // @ts-expect-error a stand-in attribute of the wrong type
  pyObject('snakebridge.testing.typing_fixture.Greeter', { count: 'two' });
  // Modules without declarations are programmed as before.
  mock.on('some_untyped_module.f').returns({ anything: true });
}
