// Builds the value a golden vector describes (vectors/README.md), in TypeScript.

import { readFileSync } from 'node:fs';
import { CallbackRef, type DType, HandleRef, NDArray, typedArrayFromBytes } from '@snakebridge/core';

export type Notation = Readonly<Record<string, unknown>>;

function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

function float(text: string): number {
  return text === '-0' ? -0 : Number(text);
}

/** The TypeScript value for a value notation. */
export function buildValue(notation: Notation): unknown {
  const [type, raw] = Object.entries(notation)[0] as [string, unknown];
  switch (type) {
    case 'null':
      return null;
    case 'bool':
      return raw as boolean;
    case 'int': {
      const big = BigInt(raw as string);
      return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
    }
    case 'bigint':
      return BigInt(raw as string);
    case 'float':
      return float(raw as string);
    case 'str':
      return raw as string;
    case 'bytes':
      return hexBytes(raw as string);
    case 'list':
    case 'tuple':
      return (raw as Notation[]).map(buildValue);
    case 'dict':
      return Object.fromEntries((raw as [string, Notation][]).map(([key, value]) => [key, buildValue(value)]));
    case 'map':
      return new Map((raw as [Notation, Notation][]).map(([key, value]) => [buildValue(key), buildValue(value)]));
    case 'set':
      return new Set((raw as Notation[]).map(buildValue));
    case 'date':
      return new Date(raw as string);
    case 'ndarray': {
      const { dtype, shape, hex } = raw as { dtype: DType; shape: number[]; hex: string };
      const data = typedArrayFromBytes(dtype, hexBytes(hex).slice());
      return shape.length === 1 && dtype !== 'uint8' ? data : new NDArray(data, shape);
    }
    case 'handle': {
      const { id, type: pythonType } = raw as { id: number; type: string };
      return new HandleRef({ id, type: pythonType });
    }
    case 'callback':
      return new CallbackRef(raw as number);
    default:
      throw new Error(`unknown value notation ${type}`);
  }
}

export interface SerializerVector {
  readonly name: string;
  readonly value: Notation;
  readonly decoded?: Notation;
  readonly text?: string;
  readonly hex?: string;
  readonly encode: readonly ('ts' | 'py')[];
  readonly note?: string;
}

/** The expected bytes of a vector. */
export function expectedBytes(vector: SerializerVector): Uint8Array {
  return vector.hex !== undefined ? hexBytes(vector.hex) : new TextEncoder().encode(vector.text ?? '');
}

/** Reads a vector file of this folder, e.g. `serializers/json.json`. */
export function loadVectors<T = SerializerVector>(relative: string): T[] {
  return (JSON.parse(readFileSync(new URL(relative, import.meta.url), 'utf8')) as { vectors: T[] }).vectors;
}
