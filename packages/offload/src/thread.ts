// Runs in a piscina worker thread: rebuilds the serializer from its recipe
// (once per thread) and encodes or decodes one payload.

import type { Serializer, SerializerRecipe } from '@snakebridge/core';
import { Piscina } from 'piscina';
import { clonesFaithfully } from './clone.js';
import { HANDLE_MARK, type ThreadTask } from './thread-task.js';

const serializers = new Map<string, Promise<Serializer>>();

function serializerFor(recipe: SerializerRecipe): Promise<Serializer> {
  const key = `${recipe.module}#${recipe.factory}#${JSON.stringify(recipe.options ?? null)}`;
  let serializer = serializers.get(key);
  if (serializer === undefined) {
    serializer = import(recipe.module).then((module: Record<string, unknown>) => {
      const factory = module[recipe.factory];
      if (typeof factory !== 'function')
        throw new Error(`${recipe.module} does not export a function ${recipe.factory}`);
      return factory(recipe.options) as Serializer;
    });
    serializers.set(key, serializer);
  }
  return serializer;
}

export default async function run(task: ThreadTask): Promise<unknown> {
  const serializer = await serializerFor(task.recipe);
  if (task.kind === 'encode') {
    const bytes = serializer.encode(task.value, { target: task.target, role: task.role });
    // Hand back a buffer of its own, moved rather than copied.
    const owned = new Uint8Array(bytes);
    return Piscina.move(owned);
  }
  let handles = 0;
  const value = serializer.decode(task.bytes, {
    target: task.target,
    role: task.role,
    handle: (wire) => {
      handles += 1;
      return { [HANDLE_MARK]: { id: wire.id, type: wire.type, repr: wire.repr } };
    },
  });
  if (!faithful(value)) {
    // The caller decodes on its own thread instead: hand its bytes back (moved, not copied).
    return movable({ value: undefined, handles, faithful: false, bytes: task.bytes }, task.bytes.buffer);
  }
  return movable({ value, handles, faithful: true }, soleBuffer(value));
}

/** A result whose buffer moves back to the caller instead of being copied, when there is one to move. */
function movable(result: object, buffer: ArrayBufferLike | undefined): unknown {
  if (!(buffer instanceof ArrayBuffer)) return result;
  // Piscina's Transferable interface: the buffer to move, and the value that travels with it.
  const transferable = {
    get [Piscina.transferableSymbol]() {
      return buffer;
    },
    get [Piscina.valueSymbol]() {
      return result;
    },
  };
  return Piscina.move(transferable as unknown as Parameters<typeof Piscina.move>[0]);
}

/** True if every object in the value survives structured cloning unchanged (see clonesFaithfully). */
function faithful(value: unknown): boolean {
  const stack: unknown[] = [value];
  // Only objects are visited (primitives always clone faithfully), so plain arrays of numbers cost little.
  const push = (items: Iterable<unknown>) => {
    for (const item of items) if (typeof item === 'object' && item !== null) stack.push(item);
  };
  let budget = 100_000;
  while (stack.length > 0 && budget-- > 0) {
    const item = stack.pop();
    if (!clonesFaithfully(item)) return false;
    if (Array.isArray(item) || item instanceof Set) push(item);
    else if (item instanceof Map) {
      push(item.keys());
      push(item.values());
    } else if (typeof item === 'object' && item !== null && !ArrayBuffer.isView(item) && !(item instanceof Date)) {
      push(Object.values(item));
    }
  }
  return stack.length === 0;
}

/** The one ArrayBuffer all typed arrays in a value view (a zero-copy decode), if there is exactly one. */
function soleBuffer(value: unknown): ArrayBuffer | undefined {
  const buffers = new Set<ArrayBufferLike>();
  const stack: unknown[] = [value];
  let budget = 100_000;
  const push = (items: Iterable<unknown>) => {
    for (const item of items) if (typeof item === 'object' && item !== null) stack.push(item);
  };
  while (stack.length > 0 && budget-- > 0) {
    const item = stack.pop();
    if (ArrayBuffer.isView(item)) buffers.add(item.buffer);
    else if (Array.isArray(item)) push(item);
    else if (item instanceof Map) push(item.values());
    else if (typeof item === 'object' && item !== null && !(item instanceof Date)) push(Object.values(item));
  }
  const [only] = buffers;
  // With budget left, every typed array was seen; otherwise moving one buffer could strand another.
  return budget > 0 && buffers.size === 1 && only instanceof ArrayBuffer ? only : undefined;
}
