// Client-side load balancing over remote servers (remote mode): each call
// goes to the healthy endpoint with the fewest calls in flight; health checks
// (grpc.health.v1, every grpc.healthCheckIntervalMs) take a failing endpoint
// out of rotation and bring it back, with backoff while it is down. When no
// endpoint is healthy, calls fail at once with an UnavailableError that names
// them all. DNS names are expanded into one endpoint per address (sources.ts).

import type { Channels } from '@snakebridge/core';
import {
  type AcquireOptions,
  CancelledError,
  ClosedError,
  ConfigError,
  type Lease,
  type Logger,
  type ResolvedConfig,
  type RunOptions,
  type Serializer,
  UnavailableError,
} from '@snakebridge/core';
import { type GrpcSettings, grpcOptions } from '../options.js';
import type { ChannelSecurity } from '../wire/credentials.js';
import { neverSent } from '../wire/status.js';
import { type EndpointStats, RemoteEndpoint } from './endpoint.js';
import { addressOf, type Lookup, parseSource, type Source, systemLookup } from './sources.js';

export interface BalancerOptions {
  readonly config: ResolvedConfig;
  readonly serializer: Serializer;
  readonly security: ChannelSecurity;
  readonly logger: Logger;
  /** How DNS names are resolved. @default the system resolver */
  readonly lookup?: Lookup | undefined;
  /** How often DNS names are resolved again, to follow servers coming and going. @default 30000 */
  readonly resolveIntervalMs?: number | undefined;
}

/** An entry of grpc.endpoints and the endpoints it stands for now. */
interface SourceState {
  readonly source: Source;
  readonly endpoints: Map<string, RemoteEndpoint>;
  /** Why the last resolution failed, while it has no endpoints. */
  error: string | undefined;
}

/** An endpoint leaving or rejoining rotation. */
export type EndpointEvent =
  | { readonly type: 'healthy'; readonly endpoint: string; readonly instance: string | undefined }
  | { readonly type: 'unhealthy'; readonly endpoint: string; readonly reason: string };

/** First health-check retry after a failure; doubles up to the check interval. */
const RETRY_BACKOFF_MS = 200;
/** Longest a health check may take. */
const CHECK_TIMEOUT_MS = 5_000;
const RESOLVE_INTERVAL_MS = 30_000;
/** How long the first calls wait for more endpoints once one serves. */
const FIRST_ROUND_GRACE_MS = 250;

export class Balancer implements Channels<RemoteEndpoint> {
  /** The endpoints in use now: those of every source, in configuration order. */
  #endpoints: RemoteEndpoint[] = [];
  readonly #sources: SourceState[];
  readonly #options: BalancerOptions;
  readonly #config: ResolvedConfig;
  readonly #grpc: GrpcSettings;
  readonly #logger: Logger;
  readonly #lookup: Lookup;
  readonly #listeners = new Set<(event: EndpointEvent) => void>();
  readonly #timers = new Map<RemoteEndpoint, NodeJS.Timeout>();
  #resolveTimer: NodeJS.Timeout | undefined;
  /** Settles when the first endpoint serves, or every first check is over. */
  #firstRound: Promise<void> | undefined;
  /** Settles when every first check is over. */
  #allChecked: Promise<void> = Promise.resolve();
  /** Health checks have begun: endpoints added from now on are checked at once. */
  #checking = false;
  #closing: Promise<void> | undefined;
  #closed = false;
  /** Where the search for the least-loaded endpoint starts, so ties take turns. */
  #cursor = 0;

  constructor(options: BalancerOptions) {
    const { config } = options;
    this.#grpc = grpcOptions.resolve(config);
    if (this.#grpc.endpoints.length === 0) {
      throw new ConfigError([
        {
          field: 'grpc.endpoints',
          message:
            "grpc.mode is 'remote' but no endpoints are given: list the servers (host:port), set " +
            "SNAKEBRIDGE_GRPC_ENDPOINTS, or use grpc.mode 'managed' to start servers here.",
        },
      ]);
    }
    this.#options = options;
    this.#config = config;
    this.#logger = options.logger;
    this.#lookup = options.lookup ?? systemLookup;
    this.#sources = [...new Set(this.#grpc.endpoints)].map((configured) => ({
      source: parseSource(configured),
      endpoints: new Map(),
      error: undefined,
    }));
    for (const state of this.#sources) {
      if (state.source.name === undefined) state.endpoints.set(state.source.configured, this.#endpoint(state.source));
    }
    this.#collect();
  }

  // --- the Channels port ---------------------------------------------------------------------

  /**
   * Checks every endpoint once. Resolves when at least one serves and has
   * agreed on the serializer; rejects with an UnavailableError when none
   * serves, or with the reason they refused us (UnauthenticatedError for a
   * wrong token).
   */
  async start(): Promise<void> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    this.#begin();
    await this.#allChecked;
    const serving = this.#endpoints.filter((endpoint) => endpoint.state === 'serving');
    if (serving.length === 0) throw this.#unavailable();
    if (serving.every((endpoint) => endpoint.helloError !== undefined)) throw serving[0]?.helloError;
  }

  async acquire(options: AcquireOptions = {}): Promise<Lease<RemoteEndpoint>> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    if (options.signal?.aborted) throw new CancelledError('acquire', options.signal.reason);
    await this.#begin();
    const endpoint = options.workerId === undefined ? this.#leastLoaded() : this.#pinned(options.workerId);
    endpoint.leases += 1;
    let released = false;
    return {
      worker: endpoint,
      release: () => {
        if (released) return;
        released = true;
        endpoint.leases -= 1;
        endpoint.served += 1;
        if (endpoint.retired && endpoint.leases === 0) endpoint.close();
      },
    };
  }

  /**
   * Runs `task` on an endpoint. A call that never reached a server (no
   * connection) is sent to another one; an idempotent call whose server
   * became unavailable under it is retried elsewhere, up to `pool.retries`.
   */
  async run<T>(task: (endpoint: RemoteEndpoint) => Promise<T>, options: RunOptions = {}): Promise<T> {
    for (let attempt = 0, retries = 0; ; attempt++) {
      const lease = await this.acquire(options);
      try {
        return await task(lease.worker);
      } catch (error) {
        const elsewhere =
          options.workerId === undefined &&
          !this.#closed &&
          UnavailableError.is(error) &&
          (neverSent(error)
            ? attempt < this.#endpoints.length
            : options.idempotent === true && retries++ < this.#config.pool.retries);
        if (!elsewhere) throw error;
        options.onRetry?.(error as Error);
        this.#logger.debug(`[grpc] sending a call elsewhere after: ${(error as Error).message}`);
      } finally {
        lease.release();
      }
    }
  }

  /** The endpoint holding this owner's objects, if it is still the same server instance. */
  worker(owner: string): RemoteEndpoint | undefined {
    const at = owner.lastIndexOf('#');
    const address = at === -1 ? owner : owner.slice(0, at);
    const endpoint = this.#endpoints.find((candidate) => candidate.id === address);
    return endpoint !== undefined && endpoint.owner === owner ? endpoint : undefined;
  }

  /** The serving endpoint with the fewest sessions (then the fewest calls); counts the session on it. */
  async pinSession(): Promise<RemoteEndpoint> {
    if (this.#closed) throw new ClosedError('The gRPC invoker');
    await this.#begin();
    const endpoint = this.#serving().sort((a, b) => a.sessions - b.sessions || a.leases - b.leases)[0];
    if (endpoint === undefined) throw this.#unavailable();
    endpoint.sessions += 1;
    return endpoint;
  }

  unpinSession(owner: string): void {
    const endpoint = this.worker(owner);
    if (endpoint !== undefined && endpoint.sessions > 0) endpoint.sessions -= 1;
  }

  /** Waits for calls in flight (up to `timeouts.shutdownGraceMs`), then closes every channel. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  // --- watching it ------------------------------------------------------------------------------

  /** Each endpoint: in rotation or not, calls in flight and served, sessions, last error. A name that resolves to nothing is listed as it is configured. */
  stats(): EndpointStats[] {
    return this.#sources.flatMap(({ source, endpoints, error }) =>
      endpoints.size > 0
        ? [...endpoints.values()].map((endpoint) => endpoint.stats())
        : [
            {
              endpoint: source.configured,
              state: 'unhealthy' as const,
              instance: undefined,
              inFlight: 0,
              callsServed: 0,
              sessions: 0,
              lastError: error ?? 'not resolved yet',
            },
          ],
    );
  }

  /** Subscribes to endpoints leaving and rejoining rotation; returns the unsubscribe function. */
  on(listener: (event: EndpointEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  // --- picking ---------------------------------------------------------------------------------------

  #serving(): RemoteEndpoint[] {
    return this.#endpoints.filter((endpoint) => endpoint.state === 'serving');
  }

  #leastLoaded(): RemoteEndpoint {
    let best: RemoteEndpoint | undefined;
    const count = this.#endpoints.length;
    if (count === 0) throw this.#unavailable();
    for (let i = 0; i < count; i++) {
      const endpoint = this.#endpoints[(this.#cursor + i) % count] as RemoteEndpoint;
      if (endpoint.state !== 'serving') continue;
      if (best === undefined || endpoint.leases < best.leases) best = endpoint;
    }
    if (best === undefined) throw this.#unavailable();
    this.#cursor = (this.#endpoints.indexOf(best) + 1) % count;
    return best;
  }

  #pinned(owner: string): RemoteEndpoint {
    const endpoint = this.worker(owner);
    if (endpoint === undefined) {
      throw new UnavailableError(`The gRPC server ${owner} is gone: it restarted or was removed.`, owner);
    }
    if (endpoint.state !== 'serving') {
      throw new UnavailableError(
        `The gRPC server at ${endpoint.id}, which holds this session or object, is out of rotation ` +
          `(${endpoint.stats().lastError ?? 'not checked yet'}).`,
        endpoint.id,
      );
    }
    return endpoint;
  }

  #unavailable(): UnavailableError {
    const list = this.stats().map(({ endpoint, state, lastError }) => `${endpoint} (${lastError ?? state})`);
    return new UnavailableError(
      `No healthy SnakeBridge gRPC server: ${list.join(', ')}. Check that the servers run, and that ` +
        'grpc.endpoints, grpc.tls and grpc.token are right.',
      this.#sources.map(({ source }) => source.configured).join(', '),
    );
  }

  // --- health checks and DNS ----------------------------------------------------------------------

  /**
   * The first round of checks, started once; the periodic checks follow from
   * it. Calls wait for every check, but no longer than a moment after one
   * endpoint serves: a black-holed one must not hold up the first call.
   * start() waits for every check.
   */
  #begin(): Promise<void> {
    if (this.#firstRound === undefined) {
      const checks = this.#resolve().then(() => {
        this.#checking = true;
        return this.#endpoints.map((endpoint) => this.#check(endpoint).then(() => endpoint.state));
      });
      this.#allChecked = checks.then((list) => Promise.all(list)).then(() => undefined);
      const anyServing = checks.then((list) =>
        Promise.any(list.map((check) => check.then((state) => (state === 'serving' ? undefined : Promise.reject())))),
      );
      // Give the others a moment, so that the first calls spread rather than all land on the fastest.
      const soonAfter = anyServing.then(
        () => new Promise<void>((resolve) => setTimeout(resolve, FIRST_ROUND_GRACE_MS)),
      );
      this.#firstRound = Promise.race([this.#allChecked, soonAfter.catch(() => this.#allChecked)]);
    }
    return this.#firstRound;
  }

  async #check(endpoint: RemoteEndpoint): Promise<void> {
    const interval = this.#grpc.healthCheckIntervalMs;
    await endpoint.check(Math.min(CHECK_TIMEOUT_MS, Math.max(interval, 1_000)));
    this.#schedule(endpoint);
  }

  /** The next check: after the interval while it serves, sooner (with backoff) while it is down. */
  #schedule(endpoint: RemoteEndpoint): void {
    if (this.#closed || endpoint.retired) return;
    const interval = this.#grpc.healthCheckIntervalMs;
    const wait =
      endpoint.state === 'serving'
        ? interval
        : Math.min(interval, RETRY_BACKOFF_MS * 2 ** Math.max(0, endpoint.failures - 1));
    clearTimeout(this.#timers.get(endpoint));
    const timer = setTimeout(() => void this.#check(endpoint), wait);
    timer.unref();
    this.#timers.set(endpoint, timer);
  }

  /** Resolves every DNS name again: new addresses become endpoints, vanished ones are retired. */
  async #resolve(): Promise<void> {
    await Promise.all(
      this.#sources.map(async (state) => {
        const { source } = state;
        if (source.name === undefined) return;
        let addresses: readonly string[];
        try {
          addresses = [...new Set(await this.#lookup(source.name))].map((ip) => addressOf(ip, source.port));
        } catch (error) {
          // Keep what we have: a failing DNS server must not empty a working rotation.
          state.error = `DNS lookup of ${source.name} failed: ${(error as Error).message}`;
          if (state.endpoints.size === 0) this.#logger.warn(`[grpc] ${state.error}`);
          return;
        }
        state.error = addresses.length === 0 ? `${source.name} resolves to no address` : undefined;
        for (const address of addresses) {
          if (state.endpoints.has(address)) continue;
          const endpoint = this.#endpoint(source, address);
          state.endpoints.set(address, endpoint);
          if (this.#checking) void this.#check(endpoint);
        }
        for (const [address, endpoint] of state.endpoints) {
          if (addresses.includes(address)) continue;
          state.endpoints.delete(address);
          this.#retire(endpoint, `${address} no longer in DNS for ${source.name}`);
        }
      }),
    );
    this.#collect();
    if (this.#closed || this.#sources.every(({ source }) => source.name === undefined)) return;
    // A name that resolves to nothing is tried again soon; the others at the resolve interval.
    const interval = this.#options.resolveIntervalMs ?? RESOLVE_INTERVAL_MS;
    const empty = this.#sources.some(({ source, endpoints }) => source.name !== undefined && endpoints.size === 0);
    clearTimeout(this.#resolveTimer);
    this.#resolveTimer = setTimeout(
      () => void this.#resolve(),
      empty ? Math.min(interval, this.#grpc.healthCheckIntervalMs) : interval,
    );
    this.#resolveTimer.unref();
  }

  #endpoint(source: Source, address?: string): RemoteEndpoint {
    const { security } = this.#options;
    const named = address !== undefined && source.name !== undefined;
    return new RemoteEndpoint({
      endpoint: address ?? source.configured,
      maxMessageBytes: this.#grpc.maxMessageBytes,
      label: named ? `${address} (${source.name})` : undefined,
      // Connecting to an address of a name: the server is still known (and its certificate checked) by the name.
      security: named
        ? {
            ...security,
            options: {
              'grpc.default_authority': `${source.name}:${source.port}`,
              ...(security.tls ? { 'grpc.ssl_target_name_override': source.name } : {}),
              ...security.options,
            },
          }
        : security,
      serializer: this.#options.serializer,
      onChange: (changed, reason, back) => this.#changed(changed, reason, back),
    });
  }

  #retire(endpoint: RemoteEndpoint, reason: string): void {
    endpoint.retired = true;
    clearTimeout(this.#timers.get(endpoint));
    this.#timers.delete(endpoint);
    endpoint.markUnhealthy(reason);
    if (endpoint.leases === 0) endpoint.close();
  }

  /** The endpoints in use, in configuration order. */
  #collect(): void {
    this.#endpoints = this.#sources.flatMap(({ endpoints }) => [...endpoints.values()]);
  }

  #changed(endpoint: RemoteEndpoint, reason: string | undefined, back: boolean): void {
    const event: EndpointEvent =
      reason === undefined
        ? { type: 'healthy', endpoint: endpoint.id, instance: endpoint.instance }
        : { type: 'unhealthy', endpoint: endpoint.id, reason };
    if (event.type === 'unhealthy') {
      this.#logger.warn(`[grpc] ${endpoint.id} is out of rotation: ${event.reason}`);
      // A call found it down: look again soon rather than at the next interval.
      if (this.#firstRound !== undefined) this.#schedule(endpoint);
    } else if (back) {
      this.#logger.info(`[grpc] ${endpoint.id} is back in rotation`);
    }
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch (error) {
        this.#logger.warn(`[grpc] an endpoint event listener threw: ${String(error)}`);
      }
    }
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#resolveTimer);
    for (const timer of this.#timers.values()) clearTimeout(timer);
    const deadline = Date.now() + this.#config.timeouts.shutdownGraceMs;
    while (this.#endpoints.some((endpoint) => endpoint.leases > 0) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const endpoint of this.#endpoints) endpoint.close();
  }
}
