// Calls through the typed proxies of the fixture module, against real Python
// over stdio: the declarations (vectors/introspect/typing_fixture.d.ts)
// describe what really comes back. This file is also type-checked with the
// declarations (compile.test.ts), so every value below has its declared type.

import { createBridge, kwargs, PythonError, release, setattr } from '@snakebridge/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const FIXTURE = 'snakebridge.testing.typing_fixture';

describe('typed proxies over real Python', () => {
  let bridge: Awaited<ReturnType<typeof createBridge>>;
  beforeAll(async () => {
    bridge = await createBridge({ pool: { min: 1, max: 1 }, logLevel: 'silent' }, { env: {} });
  });
  afterAll(async () => {
    await bridge.close();
  });

  it('calls functions positionally, by keyword and with *args and **kwargs', async () => {
    const fx = bridge.module(FIXTURE);
    const greeting: string = await fx.greet('Ada');
    expect(greeting).toBe('Hello, Ada!');
    expect(await fx.greet('Ada', kwargs({ punctuation: '?' }))).toBe('Hello, Ada?');
    expect(await fx.greet(kwargs({ name: 'Ada', greeting: 'Hi' }))).toBe('Hi, Ada!');
    expect(await fx.clamp(5, kwargs({ high: 2 }))).toBe(2);
    expect(await fx.mean(1, 2, 3)).toBe(2);
    expect(await fx.describe(3, kwargs({ verbose: true }))).toBe('int verbose');
  });

  it('sends and receives literals, typed dicts, named tuples, tuples and dicts by value', async () => {
    const fx = bridge.module(FIXTURE);
    expect(await fx.to_unit(1.5, 'cm')).toBe(150);
    const stats = await fx.normalize({ a: 1, b: 3 }, { count: 0, mean: 0, label: 'x' });
    expect(stats).toEqual({ count: 2, mean: 2, label: 'x' });
    const [x, y] = await fx.midpoint([0, 0], [2, 4]);
    expect([x, y]).toEqual([1, 2]);
    expect(await fx.parse_pair('a=1')).toEqual(['a', 1]);
    expect(await fx.word_lengths(['a', 'bb'])).toEqual({ a: 1, bb: 2 });
  });

  it('makes objects of classes, reads their properties, calls their methods and sets attributes', async () => {
    const fx = bridge.module(FIXTURE);
    await using greeter = await fx.Greeter('Hi', kwargs({ punctuation: '.' }));
    expect(await greeter.greet('Bob', 2)).toBe('Hi, Bob. Hi, Bob.');
    expect(await greeter('Eve')).toBe('Hi, Eve.');
    const count: number = await greeter.count;
    expect(count).toBe(2);
    await setattr(greeter, 'punctuation', '?');
    expect(await greeter.greet('Bob')).toBe('Hi, Bob?');
    const formal = await fx.Greeter.formal();
    expect(await formal.greet('Ann')).toBe('Good day, Ann.');
    expect(await fx.Greeter.words('a b')).toEqual(['a', 'b']);
    await release(formal);
  });

  it('iterates generic containers and generators, and awaits async functions', async () => {
    const fx = bridge.module(FIXTURE);
    await using stack = await fx.Stack(['a', 'b', 'c']);
    expect(await stack.pop()).toBe('c');
    const items: string[] = [];
    for await (const item of stack) items.push(item);
    expect(items).toEqual(['b', 'a']);
    const counted: number[] = [];
    for await (const n of await fx.count_up(3)) counted.push(n);
    expect(counted).toEqual([0, 1, 2]);
    expect(await fx.async_total([1, 2, 3])).toBe(6);
    expect(await fx.first(['x', 'y'])).toBe('x');
  });

  it('passes a typed callback that Python calls back', async () => {
    const fx = bridge.module(FIXTURE);
    expect(await fx.apply((a, b) => a * b, 6, 7)).toBe(42);
  });

  it('keeps enum members as handles whose name and value are typed', async () => {
    const fx = bridge.module(FIXTURE);
    const red = await fx.Color.RED;
    expect(await red.name).toBe('RED');
    const next = await fx.tick(red);
    expect(await next.value).toBe('green');
  });

  it('raises Python errors as PythonErrors through typed calls', async () => {
    const fx = bridge.module(FIXTURE);
    await expect(fx.first([])).rejects.toSatisfy((e) => PythonError.is(e, 'PYTHON_INDEX_ERROR'));
  });
});
