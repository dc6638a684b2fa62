// One remote server (remote mode): its channel, whether it is in rotation,
// and the calls it carries. It leaves rotation when a health check fails or a
// call finds it unavailable, and comes back when it serves again.

import type { CallControl, CallEvents, OutboundCall, Serializer, SnakeBridgeError } from '@snakebridge/core';
import type { GrpcChannel } from '../target.js';
import { BridgeConnection } from '../wire/connection.js';
import type { ChannelSecurity } from '../wire/credentials.js';
import { needsHello } from '../wire/status.js';

/** `unknown` until the first health check; only `serving` endpoints take new calls. */
export type EndpointState = 'unknown' | 'serving' | 'unhealthy';

/** An endpoint as `GrpcInvoker.endpoints()` reports it. */
export interface EndpointStats {
  /** The endpoint as configured. */
  readonly endpoint: string;
  readonly state: EndpointState;
  /** The server instance last greeted; it changes when the server restarts. */
  readonly instance: string | undefined;
  readonly inFlight: number;
  /** Calls it has finished (either way) since this invoker started. */
  readonly callsServed: number;
  readonly sessions: number;
  /** Why it is out of rotation, or why its last Hello failed. */
  readonly lastError: string | undefined;
}

export interface EndpointOptions {
  /** The address to connect to. */
  readonly endpoint: string;
  /** How messages name it, when not by its address: `10.0.0.7:50051 (python.svc)`. */
  readonly label?: string | undefined;
  readonly security: ChannelSecurity;
  /** The largest message the server takes (grpc.maxMessageBytes). */
  readonly maxMessageBytes?: number | undefined;
  readonly serializer: Serializer;
  /** Called when the endpoint leaves rotation (with the reason), or joins it (`back`: after being out). */
  readonly onChange: (endpoint: RemoteEndpoint, reason: string | undefined, back: boolean) => void;
}

export class RemoteEndpoint implements GrpcChannel {
  readonly id: string;
  readonly pid = undefined;
  readonly connection: BridgeConnection;
  /** Calls on it now (leases from the balancer). */
  leases = 0;
  served = 0;
  sessions = 0;
  /** Health checks failed in a row, for the backoff of the next one. */
  failures = 0;
  /** Why the last Hello failed (a wrong token, a serializer the server lacks), while it is not greeted. */
  helloError: Error | undefined;
  /** Its address left DNS: it takes no calls and closes once those in flight are over. */
  retired = false;
  readonly #options: EndpointOptions;
  #state: EndpointState = 'unknown';
  #lastError: string | undefined;
  #checking: Promise<void> | undefined;

  constructor(options: EndpointOptions) {
    this.id = options.endpoint;
    this.#options = options;
    this.connection = new BridgeConnection({
      address: options.endpoint,
      label: options.label ?? options.endpoint,
      security: options.security,
      serializer: options.serializer,
      maxMessageBytes: options.maxMessageBytes,
      onError: async (error) => {
        // Unavailable: the server or the path to it is down. Out of rotation until a health check says otherwise.
        if (error.code === 'UNAVAILABLE') this.markUnhealthy(error.message);
        return error;
      },
    });
  }

  get state(): EndpointState {
    return this.#state;
  }

  get instance(): string | undefined {
    return this.connection.instance;
  }

  /** A restarted server is another owner: the objects of the old one are gone. */
  get owner(): string {
    return `${this.id}#${this.connection.instance ?? 'unknown'}`;
  }

  stats(): EndpointStats {
    return {
      endpoint: this.connection.label,
      state: this.#state,
      instance: this.connection.instance,
      inFlight: this.leases,
      callsServed: this.served,
      sessions: this.sessions,
      lastError: this.#lastError ?? this.helloError?.message,
    };
  }

  // --- calls ---------------------------------------------------------------------------------------

  /** Only a serving endpoint takes new calls. */
  get accepting(): boolean {
    return this.#state === 'serving' && !this.retired;
  }

  send(call: OutboundCall, events: CallEvents): CallControl {
    return this.connection.send(call, events, call.pinned ? this.connection.instance : undefined);
  }

  release(handles: readonly number[], session?: string): void {
    this.connection.release(handles, session, this.connection.instance).catch(() => {
      // Unreachable or restarted: the objects are gone with it, or will expire (handles.ttlMs).
    });
  }

  // --- health --------------------------------------------------------------------------------------

  /** Checks grpc.health.v1; a serving server that has not been greeted (or restarted) gets a Hello. */
  check(timeoutMs: number): Promise<void> {
    this.#checking ??= this.#check(timeoutMs).finally(() => {
      this.#checking = undefined;
    });
    return this.#checking;
  }

  async #check(timeoutMs: number): Promise<void> {
    let status: string;
    try {
      status = await this.connection.health(timeoutMs);
    } catch (error) {
      this.markUnhealthy((error as Error).message);
      return;
    }
    if (status !== 'SERVING') {
      this.markUnhealthy(`its health service says ${status}`);
      return;
    }
    if (this.#state !== 'serving' || this.connection.instance === undefined) {
      try {
        await this.connection.hello(timeoutMs);
        this.helloError = undefined;
      } catch (error) {
        // It serves, but refuses us (a wrong token, a serializer it cannot load): it stays in rotation so
        // that calls fail with that error, typed, rather than with a vague "unavailable".
        this.helloError = error as Error;
        if ((error as SnakeBridgeError).code === 'UNAVAILABLE' && !needsHello(error)) {
          this.markUnhealthy((error as Error).message);
          return;
        }
      }
    }
    this.failures = 0;
    this.#lastError = undefined;
    if (this.#state !== 'serving') {
      const back = this.#state === 'unhealthy';
      this.#state = 'serving';
      this.#options.onChange(this, undefined, back);
    }
  }

  markUnhealthy(reason: string): void {
    this.#lastError = reason;
    this.failures += 1;
    if (this.#state === 'unhealthy') return;
    this.#state = 'unhealthy';
    this.#options.onChange(this, reason, false);
  }

  close(): void {
    this.connection.close();
  }
}
