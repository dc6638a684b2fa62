// A multi-dimensional numeric array as it crosses the bridge: a typed array
// plus dtype and shape, mapped to a numpy array on the Python side.

/** The typed arrays that map to numpy dtypes. */
export type TypedArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | BigInt64Array
  | BigUint64Array
  | Float32Array
  | Float64Array;

/** numpy dtype names (little-endian) for each typed array. */
export type DType =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'uint64'
  | 'float32'
  | 'float64';

const CONSTRUCTORS = {
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  uint16: Uint16Array,
  int32: Int32Array,
  uint32: Uint32Array,
  int64: BigInt64Array,
  uint64: BigUint64Array,
  float32: Float32Array,
  float64: Float64Array,
} as const;

/** The dtype of a typed array (a plain Uint8Array counts as bytes, not as a uint8 array). */
export function dtypeOf(array: TypedArray): DType {
  for (const [dtype, Ctor] of Object.entries(CONSTRUCTORS)) {
    if (array instanceof Ctor) return dtype as DType;
  }
  throw new TypeError(`not a typed array: ${Object.prototype.toString.call(array)}`);
}

export function isDType(value: string): value is DType {
  return Object.hasOwn(CONSTRUCTORS, value);
}

/**
 * A typed array view over `bytes` (little-endian, as numpy sends them). Copies
 * only when the bytes are not aligned for the element size, which a typed
 * array requires.
 */
export function typedArrayFromBytes(dtype: DType, bytes: Uint8Array): TypedArray {
  const Ctor = CONSTRUCTORS[dtype];
  const size = Ctor.BYTES_PER_ELEMENT;
  if (bytes.byteLength % size !== 0) {
    throw new RangeError(`${bytes.byteLength} bytes is not a whole number of ${dtype} elements`);
  }
  // Uint8Array's slice copies; a Buffer's own slice() would only make another (still misaligned) view.
  const aligned = bytes.byteOffset % size === 0 ? bytes : Uint8Array.prototype.slice.call(bytes);
  return new Ctor(aligned.buffer as ArrayBuffer, aligned.byteOffset, aligned.byteLength / size);
}

/** The bytes of a typed array, without copying. */
export function bytesOfTypedArray(array: TypedArray): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

/**
 * An n-dimensional array: numpy's `ndarray` on the JavaScript side. A
 * one-dimensional numpy array arrives as a plain typed array; anything else
 * as an NDArray. Pass either to Python to get a numpy array there.
 */
export class NDArray<T extends TypedArray = TypedArray> {
  /** Elements in C (row-major) order. */
  readonly data: T;
  readonly shape: readonly number[];
  readonly dtype: DType;

  constructor(data: T, shape: readonly number[] = [data.length]) {
    const count = shape.reduce((product, n) => product * n, 1);
    if (count !== data.length) {
      throw new RangeError(`shape [${shape.join(', ')}] needs ${count} elements, got ${data.length}`);
    }
    this.data = data;
    this.shape = shape;
    this.dtype = dtypeOf(data);
  }
}
