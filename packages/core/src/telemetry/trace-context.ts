// The W3C Trace Context of a call's span, as it travels to Python with the
// call (docs/protocol.md: a CALL's trace block over stdio, the `traceparent`
// and `tracestate` metadata over gRPC), so that Python's span of the call is a
// child of the TypeScript one. Written from the span context itself, not
// through a registered propagator: an application that registered only a
// tracer provider still gets connected traces.

import { isSpanContextValid, type SpanContext } from '@opentelemetry/api';

/** The `traceparent` and `tracestate` of a span (https://www.w3.org/TR/trace-context/). */
export interface TraceContext {
  /** `00-<32 hex trace id>-<16 hex span id>-<2 hex flags>`: 55 ASCII characters. */
  readonly traceparent: string;
  /** Vendor entries, `key=value,…`, when the span has any; ASCII, at most MAX_TRACESTATE_LENGTH characters. */
  readonly tracestate?: string | undefined;
}

/** The longest `traceparent` the wire carries (its length is one byte); version 00 takes 55. */
export const MAX_TRACEPARENT_LENGTH = 255;
/**
 * The longest `tracestate` sent. The W3C limits it to 32 entries and asks that
 * at least 512 characters be passed on; a longer one is dropped, not cut, as
 * the specification allows.
 */
export const MAX_TRACESTATE_LENGTH = 4096;

/** Printable ASCII only: what both headers are made of. */
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/**
 * The trace context of `span`, or undefined for an invalid one (the API's
 * no-op span). A sampled-out span has a valid context and is passed on with
 * its flags, so that Python does not start a trace of its own for the call.
 */
export function traceContextOf(span: SpanContext): TraceContext | undefined {
  if (!isSpanContextValid(span)) return undefined;
  const flags = (span.traceFlags & 0xff).toString(16).padStart(2, '0');
  const traceparent = `00-${span.traceId}-${span.spanId}-${flags}`;
  const tracestate = span.traceState?.serialize();
  if (tracestate === undefined || tracestate === '' || !carriable(tracestate)) return { traceparent };
  return { traceparent, tracestate };
}

function carriable(tracestate: string): boolean {
  return tracestate.length <= MAX_TRACESTATE_LENGTH && PRINTABLE_ASCII.test(tracestate);
}
