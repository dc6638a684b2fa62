// One call on a gRPC connection, as the TransportInvoker sees every call: it
// goes as a unary Call RPC when it neither streams nor passes host functions,
// else as an Exchange, the bidi RPC that carries a stream's items and credit
// and Python's callback requests and their answers. Every call gets exactly
// one final event, whatever the RPC does.

import { type ClientDuplexStream, type ClientUnaryCall, type ServiceError, status } from '@grpc/grpc-js';
import {
  type CallbackAnswer,
  type CallControl,
  type CallEvents,
  errorFromPayload,
  type OutboundCall,
  ProtocolError,
  parseErrorPayload,
} from '@snakebridge/core';
import type { CallReply, ExchangeReply, ExchangeRequest } from './proto.js';

/** What a RemoteCall needs from its connection. */
export interface RemoteCallHost {
  /** How errors name the server. */
  readonly label: string;
  /** Turns a failed RPC's status into the typed error the caller sees (may wait to learn whether the server died). */
  typed(error: ServiceError, call: OutboundCall): Promise<Error>;
  /** The RPC is over, however it ended. */
  settled(call: RemoteCall): void;
}

/** A call in flight on a connection: its RPC, and the invoker's controls of it. */
export class RemoteCall implements CallControl {
  readonly call: OutboundCall;
  readonly #events: CallEvents;
  readonly #host: RemoteCallHost;
  #rpc: ClientUnaryCall | ClientDuplexStream<ExchangeRequest, ExchangeReply> | undefined;
  #exchange: ClientDuplexStream<ExchangeRequest, ExchangeReply> | undefined;
  /** The final event has been given (or the RPC cancelled by us): nothing more reaches the invoker. */
  #final = false;

  constructor(call: OutboundCall, events: CallEvents, host: RemoteCallHost) {
    this.call = call;
    this.#events = events;
    this.#host = host;
  }

  /** Its final event has been given, or it was cancelled: nothing more is sent for it. */
  get final(): boolean {
    return this.#final;
  }

  /** Whether this call needs the bidi Exchange rather than a unary Call. */
  get exchanges(): boolean {
    return this.call.window > 0 || this.call.callbacks;
  }

  /**
   * Follows a unary Call RPC: its reply, or its failure.
   *
   * @param greetAndRetry - sends the call again after a Hello, if the server refuses it for want of one
   */
  unary(
    start: (done: (error: ServiceError | null, reply?: CallReply) => void) => ClientUnaryCall,
    greetAndRetry?: () => void,
  ): void {
    const rpc = start((error, reply) => {
      if (rpc !== this.#rpc) return; // a refused attempt, sent again since
      if (error === null) this.#reply(reply);
      else if (!this.#retried(error, greetAndRetry)) this.#failed(error);
    });
    this.#rpc = rpc;
  }

  /** Follows an Exchange RPC: sends the call, then hands each message on. */
  exchange(
    duplex: ClientDuplexStream<ExchangeRequest, ExchangeReply>,
    request: ExchangeRequest,
    greetAndRetry?: () => void,
  ): void {
    this.#rpc = duplex;
    this.#exchange = duplex;
    let replied = false;
    duplex.on('data', (reply: ExchangeReply) => {
      replied = true;
      if (duplex === this.#rpc) this.#message(reply);
    });
    duplex.on('error', (error: ServiceError) => {
      if (duplex !== this.#rpc) return;
      if (replied || !this.#retried(error, greetAndRetry)) this.#failed(error);
    });
    duplex.on('end', () => {
      if (duplex === this.#rpc) this.#ended();
    });
    duplex.write(request);
  }

  // --- the invoker's controls -------------------------------------------------------------------

  credit(count: number): void {
    if (!this.#final) this.#exchange?.write({ credit: count });
  }

  cancel(): void {
    if (this.#final) return;
    this.#final = true;
    this.#host.settled(this);
    this.#rpc?.cancel();
  }

  answerCallback(id: number, answer: CallbackAnswer): void {
    const exchange = this.#exchange;
    if (exchange === undefined || exchange.destroyed || exchange.writableEnded) return;
    exchange.write({ callbackResult: { id, ...answer } });
  }

  /** Fails the call now, with `error`, and cancels its RPC (the server died, or the connection closes). */
  fail(error: Error): void {
    if (this.#final) return;
    this.#finish(() => this.#events.fail(error));
    this.#rpc?.cancel();
  }

  // --- from the server --------------------------------------------------------------------------

  #reply(reply: CallReply | undefined): void {
    if (reply?.outcome === 'error') this.#error(reply.error);
    else this.#finish(() => this.#events.result(reply?.result ?? new Uint8Array()));
  }

  #message(reply: ExchangeReply): void {
    if (this.#final) return;
    switch (reply.message) {
      case 'item':
        if (this.call.window > 0) this.#events.item(reply.item ?? new Uint8Array());
        else this.#violation('an item for a call that is not a stream');
        return;
      case 'result':
        this.#finish(() => this.#events.result(reply.result ?? new Uint8Array()));
        this.#exchange?.end();
        return;
      case 'error':
        this.#error(reply.error);
        this.#exchange?.end();
        return;
      case 'callback':
        if (this.call.callbacks && reply.callback !== undefined) {
          this.#events.callback({ id: reply.callback.id, payload: reply.callback.payload });
        } else this.#violation('a callback request for a call that passed no host function');
        return;
      default:
        this.#violation('an empty exchange message');
    }
  }

  /** The server ended the RPC with OK: a stream is over; a call without its result broke the protocol. */
  #ended(): void {
    if (this.#final) return;
    if (this.call.window > 0) this.#finish(() => this.#events.end());
    else this.#violation('the exchange ended without a result');
  }

  #error(body: Uint8Array | undefined): void {
    let error: Error;
    try {
      error = errorFromPayload(parseErrorPayload(body ?? new Uint8Array(), this.#host.label), this.call.description);
    } catch (refusal) {
      error = refusal as Error;
    }
    this.#finish(() => this.#events.fail(error));
  }

  /** A refusal for want of a Hello, before anything ran: greeted and sent again (once), unless cancelled meanwhile. */
  #retried(error: ServiceError, greetAndRetry: (() => void) | undefined): boolean {
    if (greetAndRetry === undefined || this.#final || error.code !== status.FAILED_PRECONDITION) return false;
    this.#rpc = undefined;
    this.#exchange = undefined;
    greetAndRetry();
    return true;
  }

  #failed(error: ServiceError): void {
    if (this.#final) return;
    // Typed off the event; the call is final from now on, whatever else the RPC says.
    this.#final = true;
    this.#host.typed(error, this.call).then(
      (typed) => this.#deliver(() => this.#events.fail(typed)),
      (typed: unknown) => this.#deliver(() => this.#events.fail(typed as Error)),
    );
  }

  /** The server sent what the protocol does not allow: the call fails typed and its RPC is cancelled. */
  #violation(what: string): void {
    this.fail(
      new ProtocolError(
        `${this.#host.label} broke the protocol while '${this.call.description}' was in flight: it sent ${what}.`,
      ),
    );
  }

  #finish(deliver: () => void): void {
    if (this.#final) return;
    this.#final = true;
    this.#deliver(deliver);
  }

  #deliver(deliver: () => void): void {
    this.#host.settled(this);
    deliver();
  }
}
