/**
 * @internal
 * The telemetry both editions share, as plain data and code (Effect-free): every metric's name,
 * description and buckets (README "Observability" documents each), the cheap per-stream byte
 * accounting, and the OpenTelemetry attributes and `error.type` of spans. Each edition keeps
 * only its `Metric` definitions and the sink that updates them (`telemetry.ts` in each).
 *
 * The accounting is plain number fields that a stream bumps on each receive/send; they reach the
 * sink only when the stream closes or has accumulated `FLUSH_BYTES` since its last flush (no
 * effect, no allocation per message).
 */

/** @internal OpenTelemetry's `network.transport` values. */
export type Transport = "tcp" | "unix" | "udp"
/** @internal */
export type Side = "client" | "server"

/** @internal Every transport, for metrics made once per transport. */
export const TRANSPORTS: ReadonlyArray<Transport> = ["tcp", "unix", "udp"]

/** @internal A stream's byte counts reach the counters at close, or once this many accumulated. */
export const FLUSH_BYTES = 256 * 1024

/** @internal A metric as data: each edition makes its own `Metric` from it. */
export interface MetricSpec {
  readonly name: string
  readonly description: string
}

/** @internal Every metric of the library; `tlsHandshakeDuration` is a histogram, the gauge is `connectionsActive`. */
export const METRICS = {
  connectionsAccepted: {
    name: "effect_sockets_connections_accepted",
    description: "connections accepted by serve"
  },
  handlerFailures: {
    name: "effect_sockets_handler_failures",
    description: "connection handlers that ended with a failure or a defect"
  },
  handshakeFailures: {
    name: "effect_sockets_tls_handshake_failures",
    description: "TLS handshakes that failed on a listener"
  },
  bytesSent: {
    name: "effect_sockets_bytes_sent",
    description: "bytes sent by the application (TLS: plaintext), by transport"
  },
  bytesReceived: {
    name: "effect_sockets_bytes_received",
    description: "bytes received by the application (TLS: plaintext), by transport"
  },
  connectionsOpened: {
    name: "effect_sockets_connections_opened",
    description: "stream connections opened, by transport and side"
  },
  connectionsActive: {
    name: "effect_sockets_connections_active",
    description: "stream connections open now, by transport"
  },
  connectErrors: {
    name: "effect_sockets_connect_errors",
    description: "failed connectTcp/connectUnix calls, by reason"
  },
  datagramsDropped: {
    name: "effect_sockets_datagrams_dropped",
    description: "datagrams dropped because the receive queue was full"
  },
  tlsHandshakeDuration: {
    name: "effect_sockets_tls_handshake_duration_seconds",
    description: "TLS handshake duration (client and server side), in seconds"
  }
} as const satisfies Record<string, MetricSpec>

/** @internal The handshake histogram's buckets: 1 ms × 2ⁿ up to ~8 s (each edition's `exponential`). */
export const HANDSHAKE_BUCKETS = { start: 0.001, factor: 2, count: 14 } as const

/** @internal How one edition makes a metric from its spec, and a metric with attributes. */
export interface MetricMaker<Counter, Gauge, Histogram> {
  readonly counter: (spec: MetricSpec) => Counter
  readonly gauge: (spec: MetricSpec) => Gauge
  readonly histogram: (spec: MetricSpec, buckets: typeof HANDSHAKE_BUCKETS) => Histogram
  readonly withAttributes: <M extends Counter | Gauge>(metric: M, attributes: Record<string, string>) => M
}

/**
 * @internal
 * Every metric of `METRICS` in one edition's `Metric`, and the series the byte accounting
 * updates, made once (per transport, and per side for `connectionsOpened`).
 */
export const makeMetrics = <Counter, Gauge, Histogram>(make: MetricMaker<Counter, Gauge, Histogram>) => {
  const { counter } = make
  const metrics = {
    connectionsAccepted: counter(METRICS.connectionsAccepted),
    handlerFailures: counter(METRICS.handlerFailures),
    handshakeFailures: counter(METRICS.handshakeFailures),
    bytesSent: counter(METRICS.bytesSent),
    bytesReceived: counter(METRICS.bytesReceived),
    connectionsOpened: counter(METRICS.connectionsOpened),
    connectionsActive: make.gauge(METRICS.connectionsActive),
    connectErrors: counter(METRICS.connectErrors),
    datagramsDropped: counter(METRICS.datagramsDropped),
    tlsHandshakeDuration: make.histogram(METRICS.tlsHandshakeDuration, HANDSHAKE_BUCKETS)
  }
  const byTransport = <M extends Counter | Gauge>(metric: M) =>
    Object.fromEntries(TRANSPORTS.map((t) => [t, make.withAttributes(metric, { transport: t })])) as Record<
      Transport,
      M
    >
  const openedBy = Object.fromEntries(TRANSPORTS.map((t) => [t, {
    client: make.withAttributes(metrics.connectionsOpened, { transport: t, side: "client" }),
    server: make.withAttributes(metrics.connectionsOpened, { transport: t, side: "server" })
  }])) as Record<Transport, Record<Side, Counter>>
  return {
    ...metrics,
    sentBy: byTransport(metrics.bytesSent),
    receivedBy: byTransport(metrics.bytesReceived),
    activeBy: byTransport(metrics.connectionsActive),
    openedBy
  }
}

/** @internal Where one edition's accounting lands: its metrics. Called per connection or per flush, never per message. */
export interface TrafficSink {
  /** A stream connection opened; what it returns is handed back to `closed`. */
  readonly opened: (transport: Transport, side: Side) => unknown
  readonly closed: (transport: Transport, opened: unknown) => void
  readonly sent: (transport: Transport, bytes: number) => void
  readonly received: (transport: Transport, bytes: number) => void
  readonly dropped: (datagrams: number) => void
}

/**
 * @internal
 * One connection's (or datagram socket's) byte accounting. `sent`/`received` are the bytes not
 * yet flushed; the stream calls `close` once when it closes. Without a side (a datagram socket,
 * the plaintext of a TLS session) it is no connection of its own: only its bytes count.
 */
export class Traffic {
  sent = 0
  received = 0
  private open: boolean
  private readonly openedToken: unknown
  /** false once a TLS session took the stream: its bytes are then the TLS stream's. */
  counting = true

  constructor(private readonly sink: TrafficSink, readonly transport: Transport, side: Side | undefined) {
    this.open = side !== undefined
    this.openedToken = side === undefined ? undefined : sink.opened(transport, side)
  }

  addSent(n: number): void {
    if ((this.sent += n) >= FLUSH_BYTES) this.flush()
  }

  addReceived(n: number): void {
    if ((this.received += n) >= FLUSH_BYTES) this.flush()
  }

  flush(): void {
    if (this.sent > 0) {
      if (this.counting) this.sink.sent(this.transport, this.sent)
      this.sent = 0
    }
    if (this.received > 0) {
      if (this.counting) this.sink.received(this.transport, this.received)
      this.received = 0
    }
  }

  /** Flushes, and ends the connection for the active gauge (once). */
  close(): void {
    this.flush()
    if (this.open) {
      this.open = false
      this.sink.closed(this.transport, this.openedToken)
    }
  }

  /** Adds `n` datagrams dropped by this socket's receive queue. */
  addDropped(n: number): void {
    if (n > 0) this.sink.dropped(n)
  }
}

const traffics = new WeakMap<object, Traffic>()

/** @internal Remembers `stream`'s accounting (for `stopCounting`). */
export const register = <A extends object>(stream: A, traffic: Traffic): A => {
  traffics.set(stream, traffic)
  return stream
}

/**
 * @internal
 * A TLS session took `stream`: what it carries from now on is ciphertext, counted as the TLS
 * stream's plaintext instead (no double counting).
 */
export const stopCounting = (stream: object): void => {
  const traffic = traffics.get(stream)
  if (traffic) {
    traffic.flush()
    traffic.counting = false
  }
}

/** @internal An address as both editions' `SocketAddress`. */
type AddressData =
  | { readonly _tag: "InetAddress"; readonly host: string; readonly port: number }
  | { readonly _tag: "UnixAddress"; readonly path: string | Uint8Array }

/** @internal OpenTelemetry semantic-convention attributes of an address pair. */
export const addressAttributes = (
  attributes: { readonly localAddress?: unknown; readonly remoteAddress?: unknown; readonly family?: unknown },
  serverIsLocal: boolean
): Record<string, string | number> => {
  const out: Record<string, string | number> = {}
  const local = attributes.localAddress as AddressData | undefined
  const remote = attributes.remoteAddress as AddressData | undefined
  out["network.transport"] = attributes.family === "unix" || local?._tag === "UnixAddress" ? "unix" : "tcp"
  const put = (prefix: string, address: AddressData | undefined) => {
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

/**
 * @internal
 * The `reason` a failed connect (TCP or UNIX) is counted under in `connect_errors`, or undefined
 * for an argument error: that is no connect attempt, so not counted.
 */
export const connectErrorReason = (error: { readonly _tag: string }): string | undefined =>
  error._tag === "InvalidArgumentError" ? undefined : errorType(error)

/** @internal The TLS attributes of a finished handshake's span. */
export const tlsAttributes = (
  attributes: { readonly tlsVersion: string | null; readonly cipher: { readonly standardName: string } | null }
): Record<string, string> => {
  const out: Record<string, string> = { "tls.protocol.name": "tls" }
  if (attributes.tlsVersion !== null) out["tls.protocol.version"] = attributes.tlsVersion.replace(/^TLSv/, "")
  if (attributes.cipher !== null) out["tls.cipher"] = attributes.cipher.standardName
  return out
}
