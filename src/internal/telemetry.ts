/**
 * @internal
 * The Effect 3 edition's metrics (README "Observability" documents each) over the shared rules
 * in `telemetryRules.ts` (names, descriptions, buckets, the per-stream byte accounting,
 * attributes), and the Effect-typed span helpers.
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import {
  connectErrorReason,
  errorType,
  makeMetrics,
  type Side,
  Traffic as TrafficAccount,
  type TrafficSink,
  type Transport
} from "./telemetryRules.js"

export {
  addressAttributes,
  errorType,
  FLUSH_BYTES,
  register,
  type Side,
  stopCounting,
  tlsAttributes,
  type Transport
} from "./telemetryRules.js"

const metrics = makeMetrics<
  Metric.Metric.Counter<number>,
  Metric.Metric.Gauge<number>,
  Metric.Metric.Histogram<number>
>({
  counter: (spec) => Metric.counter(spec.name, { description: spec.description }),
  gauge: (spec) => Metric.gauge(spec.name, { description: spec.description }),
  histogram: (spec, buckets) => Metric.histogram(spec.name, MetricBoundaries.exponential(buckets), spec.description),
  withAttributes: (metric, attributes) =>
    Object.entries(attributes).reduce<Metric.Metric<any, any, any>>(
      (m, [key, value]) => Metric.tagged(m, key, value),
      metric
    ) as typeof metric
})

/** @internal Every metric of the library (`telemetryRules.METRICS`), in this edition's `Metric`. */
export const {
  bytesReceived,
  bytesSent,
  connectErrors,
  connectionsAccepted,
  connectionsActive,
  connectionsOpened,
  datagramsDropped,
  handlerFailures,
  handshakeFailures,
  tlsHandshakeDuration
} = metrics
const { activeBy, openedBy, receivedBy, sentBy } = metrics
const active: Record<Transport, number> = { tcp: 0, unix: 0, udp: 0 }
const noTags: ReadonlyArray<never> = []

/** Effect 3 metrics are global: the sink updates them directly (`unsafeUpdate`, no effect). */
const sink: TrafficSink = {
  opened: (transport, side) => {
    openedBy[transport][side].unsafeUpdate(1, noTags)
    active[transport] += 1
    activeBy[transport].unsafeUpdate(active[transport], noTags)
    return undefined
  },
  closed: (transport) => {
    active[transport] -= 1
    activeBy[transport].unsafeUpdate(active[transport], noTags)
  },
  sent: (transport, bytes) => sentBy[transport].unsafeUpdate(bytes, noTags),
  received: (transport, bytes) => receivedBy[transport].unsafeUpdate(bytes, noTags),
  dropped: (datagrams) => datagramsDropped.unsafeUpdate(datagrams, noTags)
}

/**
 * @internal
 * One connection's (or datagram socket's) byte accounting (`telemetryRules.Traffic`) into this
 * edition's metrics.
 */
export class Traffic extends TrafficAccount {
  constructor(transport: Transport, side: Side | undefined) {
    super(sink, transport, side)
  }
}

/** @internal Adds `n` dropped datagrams. */
export const addDropped = (n: number): void => {
  if (n > 0) sink.dropped(n)
}

/** @internal Annotates the current span with `error.type` when `self` fails. */
export const annotateFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapError(self, (error) => Effect.annotateCurrentSpan("error.type", errorType(error)))

/**
 * @internal
 * A failed connect (TCP or UNIX): `error.type` on the current span, and one count in
 * `connect_errors` with its reason (`telemetryRules.connectErrorReason`).
 */
export const recordConnectFailure = (error: { readonly _tag: string }): Effect.Effect<void> => {
  const reason = connectErrorReason(error)
  return Effect.zipRight(
    Effect.annotateCurrentSpan("error.type", errorType(error)),
    reason === undefined ? Effect.void : Metric.increment(Metric.tagged(connectErrors, "reason", reason))
  )
}

const originalSymbol = Symbol.for("effect/OriginalAnnotation")

/**
 * @internal
 * An error failed inside a span is wrapped by Effect (a Proxy carrying the span, for
 * `Cause.pretty`): our spans must not change the identity of the errors callers see (a
 * resolver's own ResolveError, a handler's failure), so the boundaries unwrap them.
 */
export const original = <E>(error: E): E =>
  typeof error === "object" && error !== null && originalSymbol in error
    ? (error as Record<symbol, E>)[originalSymbol]!
    : error

/** @internal `original` on every failure and defect of a cause. */
export const originalCause = <E>(cause: Cause.Cause<E>): Cause.Cause<E> =>
  Cause.match(cause, {
    onEmpty: Cause.empty as Cause.Cause<E>,
    onFail: (error) => Cause.fail(original(error)),
    onDie: (defect) => Cause.die(original(defect)),
    onInterrupt: (id) => Cause.interrupt(id),
    onSequential: (left, right) => Cause.sequential(left, right),
    onParallel: (left, right) => Cause.parallel(left, right)
  })
