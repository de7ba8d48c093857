/**
 * @internal
 * Every metric of the library, in one place (README "Observability" documents each), and the
 * cheap per-stream byte accounting: plain number fields that a stream bumps on each
 * receive/send and that reach the counters only when the stream closes or has accumulated
 * `FLUSH_BYTES` since its last flush (no effect, no allocation per message).
 */
import * as Cause from "effect/Cause"
import * as Effect from "effect/Effect"
import * as Metric from "effect/Metric"
import * as MetricBoundaries from "effect/MetricBoundaries"
import type { ByteStream, SocketAddress } from "../ByteStream.js"

/** @internal OpenTelemetry's `network.transport` values. */
export type Transport = "tcp" | "unix" | "udp"
/** @internal */
export type Side = "client" | "server"

/** @internal A stream's byte counts reach the counters at close, or once this many accumulated. */
export const FLUSH_BYTES = 256 * 1024

/** @internal */
export const connectionsAccepted = Metric.counter("effect_sockets_connections_accepted", {
  description: "connections accepted by serve"
})
/** @internal */
export const handlerFailures = Metric.counter("effect_sockets_handler_failures", {
  description: "connection handlers that ended with a failure or a defect"
})
/** @internal */
export const handshakeFailures = Metric.counter("effect_sockets_tls_handshake_failures", {
  description: "TLS handshakes that failed on a listener"
})
/** @internal */
export const bytesSent = Metric.counter("effect_sockets_bytes_sent", {
  description: "bytes sent by the application (TLS: plaintext), by transport"
})
/** @internal */
export const bytesReceived = Metric.counter("effect_sockets_bytes_received", {
  description: "bytes received by the application (TLS: plaintext), by transport"
})
/** @internal */
export const connectionsOpened = Metric.counter("effect_sockets_connections_opened", {
  description: "stream connections opened, by transport and side"
})
/** @internal */
export const connectionsActive = Metric.gauge("effect_sockets_connections_active", {
  description: "stream connections open now, by transport"
})
/** @internal */
export const connectErrors = Metric.counter("effect_sockets_connect_errors", {
  description: "failed connectTcp/connectUnix calls, by reason"
})
/** @internal */
export const datagramsDropped = Metric.counter("effect_sockets_datagrams_dropped", {
  description: "datagrams dropped because the receive queue was full"
})
/** @internal */
export const tlsHandshakeDuration = Metric.histogram(
  "effect_sockets_tls_handshake_duration_seconds",
  MetricBoundaries.exponential({ start: 0.001, factor: 2, count: 14 }),
  "TLS handshake duration (client and server side), in seconds"
)

const transports: ReadonlyArray<Transport> = ["tcp", "unix", "udp"]
const byTransport = <In, Out>(metric: Metric.Metric<any, In, Out>) =>
  Object.fromEntries(transports.map((t) => [t, Metric.tagged(metric, "transport", t)])) as Record<
    Transport,
    Metric.Metric<any, In, Out>
  >
const sentBy = byTransport(bytesSent)
const receivedBy = byTransport(bytesReceived)
const activeBy = byTransport(connectionsActive)
const openedBy = Object.fromEntries(
  transports.map((t) => [
    t,
    {
      client: connectionsOpened.pipe(Metric.tagged("transport", t), Metric.tagged("side", "client")),
      server: connectionsOpened.pipe(Metric.tagged("transport", t), Metric.tagged("side", "server"))
    }
  ])
) as Record<Transport, Record<Side, Metric.Metric.Counter<number>>>
const active: Record<Transport, number> = { tcp: 0, unix: 0, udp: 0 }
const noTags: ReadonlyArray<never> = []

/**
 * @internal
 * One connection's (or datagram socket's) byte accounting. `sent`/`received` are the bytes not
 * yet flushed; the stream calls `close` once when it closes.
 */
export class Traffic {
  sent = 0
  received = 0
  private open = true
  /** false once a TLS session took the stream: its bytes are then the TLS stream's. */
  counting = true

  constructor(readonly transport: Transport, side: Side | undefined) {
    if (side !== undefined) {
      openedBy[transport][side].unsafeUpdate(1, noTags)
      active[transport] += 1
      activeBy[transport].unsafeUpdate(active[transport], noTags)
    } else {
      this.open = false
    }
  }

  addSent(n: number): void {
    if ((this.sent += n) >= FLUSH_BYTES) this.flush()
  }

  addReceived(n: number): void {
    if ((this.received += n) >= FLUSH_BYTES) this.flush()
  }

  flush(): void {
    if (this.sent > 0) {
      if (this.counting) sentBy[this.transport].unsafeUpdate(this.sent, noTags)
      this.sent = 0
    }
    if (this.received > 0) {
      if (this.counting) receivedBy[this.transport].unsafeUpdate(this.received, noTags)
      this.received = 0
    }
  }

  /** Flushes, and ends the connection for the active gauge (once). */
  close(): void {
    this.flush()
    if (this.open) {
      this.open = false
      active[this.transport] -= 1
      activeBy[this.transport].unsafeUpdate(active[this.transport], noTags)
    }
  }
}

const traffics = new WeakMap<ByteStream, Traffic>()

/** @internal Remembers `stream`'s accounting (for `stopCounting`). */
export const register = <A extends ByteStream>(stream: A, traffic: Traffic): A => {
  traffics.set(stream, traffic)
  return stream
}

/**
 * @internal
 * A TLS session took `stream`: what it carries from now on is ciphertext, counted as the TLS
 * stream's plaintext instead (no double counting).
 */
export const stopCounting = (stream: ByteStream): void => {
  const traffic = traffics.get(stream)
  if (traffic) {
    traffic.flush()
    traffic.counting = false
  }
}

/** @internal Adds `n` dropped datagrams. */
export const addDropped = (n: number): void => {
  if (n > 0) datagramsDropped.unsafeUpdate(n, noTags)
}

/** @internal OpenTelemetry semantic-convention attributes of an address pair. */
export const addressAttributes = (
  attributes: { readonly localAddress?: unknown; readonly remoteAddress?: unknown; readonly family?: unknown },
  serverIsLocal: boolean
): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  const local = attributes.localAddress as SocketAddress | undefined
  const remote = attributes.remoteAddress as SocketAddress | undefined
  out["network.transport"] = attributes.family === "unix" || local?._tag === "UnixAddress" ? "unix" : "tcp"
  const put = (prefix: string, address: SocketAddress | undefined) => {
    if (address === undefined) return
    if (address._tag === "InetAddress") {
      out[`${prefix}.address`] = address.host
      out[`${prefix}.port`] = address.port
    } else if (typeof address.path === "string" && address.path !== "") {
      out[`${prefix}.address`] = address.path
    }
  }
  put("network.peer", remote)
  put("server", serverIsLocal ? local : remote)
  return out
}

/** @internal `error.type`: our reason when the error has one, else its tag. */
export const errorType = (error: unknown): string => {
  if (typeof error === "object" && error !== null) {
    const e = error as { reason?: unknown; _tag?: unknown }
    if (typeof e.reason === "string") return e.reason
    if (typeof e._tag === "string") return e._tag
  }
  return "_OTHER"
}

/** @internal Annotates the current span with `error.type` when `self` fails. */
export const annotateFailure = <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  Effect.tapError(self, (error) => Effect.annotateCurrentSpan("error.type", errorType(error)))

/**
 * @internal
 * A failed connect (TCP or UNIX): `error.type` on the current span, and one count in
 * `connect_errors` with its reason — an argument error is no connect attempt, so not counted.
 */
export const recordConnectFailure = (error: { readonly _tag: string }): Effect.Effect<void> =>
  Effect.zipRight(
    Effect.annotateCurrentSpan("error.type", errorType(error)),
    error._tag === "InvalidArgumentError"
      ? Effect.void
      : Metric.increment(Metric.tagged(connectErrors, "reason", errorType(error)))
  )

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
