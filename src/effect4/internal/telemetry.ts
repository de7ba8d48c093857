/**
 * @internal
 * The Effect 4 edition's metrics (the same names, descriptions, attributes and meaning as the
 * Effect 3 edition's; README "Observability") over the shared rules in
 * `internal/telemetryRules.ts`, and the Effect-typed span helpers.
 *
 * Effect 4 keeps metric series in the `Metric.MetricRegistry` of the context. The per-stream
 * accounting flushes from plain code (a receive's last step, a close, a socket event), so its
 * sink updates the registry of the fiber running at that moment, or the default registry outside
 * any fiber; a connection leaves the active gauge in the registry it entered.
 */
import * as Context from "effect/Context"
import * as Effect from "effect/Effect"
import * as Fiber from "effect/Fiber"
import * as Metric from "effect/Metric"
import {
  addressAttributes,
  connectErrorReason,
  errorType,
  makeMetrics,
  type Side,
  tlsAttributes,
  Traffic as TrafficAccount,
  type TrafficSink,
  type Transport
} from "../../internal/telemetryRules.js"
import type { ByteStream } from "../ByteStream.js"
import type { TlsStream } from "../Socket/Tls.js"

export {
  addressAttributes,
  errorType,
  register,
  type Side,
  stopCounting,
  type Transport
} from "../../internal/telemetryRules.js"

/** @internal Every metric of the library (`telemetryRules.METRICS`) in Effect 4's `Metric`, and the series per transport. */
export const metrics = makeMetrics<Metric.Counter<number>, Metric.Gauge<number>, Metric.Histogram<number>>({
  counter: (spec) => Metric.counter(spec.name, { description: spec.description }),
  gauge: (spec) => Metric.gauge(spec.name, { description: spec.description }),
  histogram: (spec, buckets) =>
    Metric.histogram(spec.name, { description: spec.description, boundaries: Metric.exponentialBoundaries(buckets) }),
  withAttributes: (metric, attributes) =>
    Metric.withAttributes(metric as Metric.Metric<any, any>, attributes) as typeof metric
})

const { activeBy, openedBy, receivedBy, sentBy } = metrics

/** The context whose registry an update made from plain code goes to (see the module's note). */
const contextNow = (): Context.Context<never> => Fiber.getCurrent()?.context ?? Context.empty()

const sink: TrafficSink = {
  opened: (transport, side) => {
    const context = contextNow()
    openedBy[transport][side].updateUnsafe(1, context)
    activeBy[transport].modifyUnsafe(1, context)
    return context
  },
  closed: (transport, opened) => activeBy[transport].modifyUnsafe(-1, opened as Context.Context<never>),
  sent: (transport, bytes) => sentBy[transport].updateUnsafe(bytes, contextNow()),
  received: (transport, bytes) => receivedBy[transport].updateUnsafe(bytes, contextNow()),
  dropped: (datagrams) => metrics.datagramsDropped.updateUnsafe(datagrams, contextNow())
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
  return Effect.andThen(
    Effect.annotateCurrentSpan("error.type", errorType(error)),
    reason === undefined ? Effect.void : Metric.update(Metric.withAttributes(metrics.connectErrors, { reason }), 1)
  )
}

/**
 * @internal
 * `Socket.wrapTls`: one span per handshake (either side) with the transport's addresses and the
 * session's TLS attributes, and its duration (failed ones too) in the histogram.
 */
export const observeHandshake = <E>(
  self: Effect.Effect<TlsStream, E>,
  inner: ByteStream,
  serverSide: boolean
): Effect.Effect<TlsStream, E> =>
  Effect.suspend(() => {
    const started = performance.now()
    return self.pipe(
      Effect.tap((stream) => Effect.annotateCurrentSpan(tlsAttributes(stream.attributes))),
      annotateFailure,
      Effect.ensuring(
        Effect.suspend(() => Metric.update(metrics.tlsHandshakeDuration, (performance.now() - started) / 1000))
      ),
      Effect.withSpan("Socket.wrapTls", {
        kind: serverSide ? "server" : "client",
        attributes: addressAttributes(inner.attributes, serverSide)
      })
    )
  })
