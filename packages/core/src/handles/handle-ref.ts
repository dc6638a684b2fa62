// A reference to a Python object that stays in the worker that created it.

/** Property under which a handle proxy exposes its {@link HandleRef}. */
export const HANDLE_REF: unique symbol = Symbol.for('@snakebridge/core/HandleRef');

/** How a handle travels inside a serialized value. */
export interface HandleWire {
  /** Id of the object in its worker's handle table. */
  readonly id: number;
  /** Python type, qualified: `sklearn.linear_model._base.LinearRegression`. */
  readonly type: string;
  /** `repr()` of the object when it was created, cut short; for debugging. */
  readonly repr?: string | undefined;
}

/**
 * A Python object that the serializer could not carry by value (a model, an
 * open file, a generator): it stays in the worker that made it and is used
 * through this reference. Calls on it go to that worker; releasing it frees
 * the object there.
 *
 * Users rarely touch a HandleRef directly: the Bridge wraps each one in a
 * proxy whose attributes and methods call into the object.
 */
export class HandleRef implements HandleWire {
  readonly id: number;
  readonly type: string;
  readonly repr: string | undefined;
  #owner: string | undefined;
  #session: string | undefined;
  #released = false;

  constructor(wire: HandleWire, owner?: string, session?: string) {
    this.id = wire.id;
    this.type = wire.type;
    this.repr = wire.repr;
    this.#owner = owner;
    this.#session = session;
  }

  /** The worker (or endpoint) holding the object; calls on it are routed there. */
  get owner(): string | undefined {
    return this.#owner;
  }

  /** The session the object was created in, if any. */
  get session(): string | undefined {
    return this.#session;
  }

  /** Says where the object is, for a handle named before it was (a PromisedHandle, when its call is placed). */
  protected locate(owner: string, session: string | undefined): void {
    this.#owner = owner;
    this.#session = session;
  }

  /** True once released; a released handle can no longer be called. */
  get released(): boolean {
    return this.#released;
  }

  /** Marks the handle released; returns false if it already was. */
  markReleased(): boolean {
    if (this.#released) return false;
    this.#released = true;
    return true;
  }

  get [HANDLE_REF](): HandleRef {
    return this;
  }

  toString(): string {
    return `<handle ${this.id} ${this.repr ?? this.type}>`;
  }

  toJSON(): HandleWire {
    return { id: this.id, type: this.type, repr: this.repr };
  }
}

/** The HandleRef behind a value (a HandleRef or a handle proxy), or undefined. */
export function toHandleRef(value: unknown): HandleRef | undefined {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return undefined;
  const ref = (value as { [HANDLE_REF]?: unknown })[HANDLE_REF];
  return ref instanceof HandleRef ? ref : undefined;
}
