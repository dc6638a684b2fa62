// The message between the offloader and its worker threads.

import type { SerializerRecipe } from '@snakebridge/core';

/** Marks a handle in a value decoded in a thread: a plain object survives structured cloning. */
export const HANDLE_MARK = '__snakebridge_offloaded_handle__';

export type ThreadTask =
  | {
      readonly kind: 'encode';
      readonly recipe: SerializerRecipe;
      readonly value: unknown;
      readonly target: string | undefined;
      readonly role: 'args' | 'result' | 'item' | undefined;
    }
  | {
      readonly kind: 'decode';
      readonly recipe: SerializerRecipe;
      readonly bytes: Uint8Array;
      readonly target: string | undefined;
      readonly role: 'args' | 'result' | 'item' | undefined;
    };
