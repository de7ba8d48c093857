/**
 * TCP client streams: `connectTcp`, with happy eyeballs of our own.
 *
 * @since 0.2.0
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as FiberSet from "effect/FiberSet"
import * as Scope from "effect/Scope"
import type * as net from "node:net"
import { interleave } from "../../internal/addressOrder.js"
import { ipFamily, type ResolvedAddress } from "../../internal/driver/dns.js"
import type { ByteStream, InetAddress } from "../ByteStream.js"
import * as tcp from "../internal/tcp.js"
import * as telemetry from "../internal/telemetry.js"
import { invalidTlsOptions } from "../internal/tls.js"
import { checkHost, checkOptions, checkPort, checkTcpSocketOptions, decodeDuration } from "../internal/validate.js"
import {
  type BrokenResourceError,
  type ClosedResourceError,
  type ConnectAttempt,
  ConnectError,
  type InvalidArgumentError,
  ResolveError,
  type TlsError,
  type UnsupportedError
} from "../NetError.js"
import { type TlsOptions, type TlsStream, wrapTls } from "./Tls.js"

/**
 * A connected TCP stream. Its attributes give both ends' addresses and the family.
 *
 * @since 0.2.0
 * @category models
 */
export interface TcpStream extends ByteStream {
  readonly attributes: {
    readonly family: "IPv4" | "IPv6"
    readonly localAddress: InetAddress
    readonly remoteAddress: InetAddress
    readonly [key: string]: unknown
  }
}

/**
 * Socket options of a TCP stream: on {@link connectTcp}, on a TCP listener (applied to each
 * accepted connection) and on an open stream ({@link setTcpOptions}).
 *
 * @since 0.2.0
 * @category models
 */
export interface TcpSocketOptions {
  /**
   * SO_KEEPALIVE: `false` (the default), `true` (probes after the system's idle time,
   * `net.ipv4.tcp_keepalive_time`), or the idle time before the first probe (TCP_KEEPIDLE), a
   * whole number of seconds from 1 to 32767.
   */
  readonly keepAlive?: boolean | Duration.Input
  /** TCP_NODELAY (default `true` on connect and accept; on {@link setTcpOptions}, unchanged). */
  readonly noDelay?: boolean
  /**
   * SO_RCVBUF in bytes (1..2^30). Linux doubles the value for its bookkeeping (reading it back
   * gives twice this) and clamps it to `net.core.rmem_max`. Node has no setter for it: it is set
   * on the socket's fd through the native addon, so without the addon it is an `UnsupportedError`.
   */
  readonly receiveBufferSize?: number
  /** SO_SNDBUF in bytes, as `receiveBufferSize` (clamped to `net.core.wmem_max`). */
  readonly sendBufferSize?: number
}

/**
 * Options of {@link connectTcp}.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectTcpOptions extends TcpSocketOptions {
  /** The local address to bind to before connecting (an IP address or a name). */
  readonly localHost?: string
  /** The local port to bind to before connecting. */
  readonly localPort?: number
  /** How long an attempt runs before the next address is tried in parallel (default 250 ms). */
  readonly happyEyeballsDelay?: Duration.Input
  /**
   * Resolves a host name to IP addresses, in preference order (default: the system resolver,
   * `getaddrinfo`). For service discovery, or to make happy eyeballs deterministic in tests.
   */
  readonly resolver?: (host: string) => Effect.Effect<ReadonlyArray<string>, ResolveError>
  /**
   * Run a TLS handshake once connected: `true` (system CAs) or TLS options. TLS is also used
   * whenever `tlsHostname` is given. Certificates are verified by default.
   */
  readonly tls?: boolean | TlsOptions
  /** The name to verify the server's certificate against and to send as SNI (default: `host`). */
  readonly tlsHostname?: string
  /** See `TlsOptions.standardCompatible` (default true). */
  readonly tlsStandardCompatible?: boolean
}

/** The attribute saying how an attempt ended: won, lost (connected after the winner), failed, cancelled. */
const OUTCOME = "effect_sockets.attempt.outcome"

/** The default happy-eyeballs delay (RFC 8305 recommends 250 ms). */
const DEFAULT_DELAY = Duration.millis(250)

/**
 * Options of {@link connectTcp} that ask for TLS.
 *
 * @since 0.2.0
 * @category models
 */
export type ConnectTlsOptions =
  & ConnectTcpOptions
  & (
    | { readonly tls: true | TlsOptions }
    | { readonly tlsHostname: string }
  )

/**
 * Connects to `host:port`. An IP address is one attempt; a name is resolved and its addresses
 * are tried with happy eyeballs (RFC 8305): the resolver's order with families interleaved, a
 * new attempt every `happyEyeballsDelay` or as soon as the previous one fails, the first to
 * connect wins and the others are closed. If every attempt fails, the `ConnectError` lists
 * each address with its own error. A name that cannot be resolved fails with `ResolveError`.
 *
 * The stream is closed when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Socket } from "effect-sockets/effect4"
 *
 * const program = Effect.scoped(
 *   Effect.gen(function* () {
 *     const client = yield* Socket.connectTcp("localhost", 1234)
 *     yield* client.send("Client\n")
 *     const response = yield* client.receive()
 *     console.log(new TextDecoder().decode(response))
 *   })
 * )
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const connectTcp: {
  (host: string, port: number, options: ConnectTlsOptions): Effect.Effect<
    TlsStream & TcpStream,
    ConnectError | ResolveError | InvalidArgumentError | UnsupportedError | TlsError | BrokenResourceError,
    Scope.Scope
  >
  (host: string, port: number, options?: ConnectTcpOptions): Effect.Effect<
    TcpStream,
    ConnectError | ResolveError | InvalidArgumentError | UnsupportedError | TlsError | BrokenResourceError,
    Scope.Scope
  >
} = (
  host: string,
  port: number,
  options: ConnectTcpOptions = {}
): Effect.Effect<
  // The TLS overload's stream is a TlsStream whose attributes include the TCP ones.
  any,
  ConnectError | ResolveError | InvalidArgumentError | UnsupportedError | TlsError | BrokenResourceError,
  Scope.Scope
> =>
  connect(host, port, options).pipe(
    Effect.tap((stream) =>
      Effect.annotateCurrentSpan({
        "network.peer.address": stream.attributes.remoteAddress.host,
        "network.peer.port": stream.attributes.remoteAddress.port
      })
    ),
    Effect.tapError(telemetry.recordConnectFailure),
    Effect.withSpan("Socket.connectTcp", {
      kind: "client",
      attributes: { "network.transport": "tcp", "server.address": host, "server.port": port }
    })
  )

const connect = (
  host: string,
  port: number,
  options: ConnectTcpOptions
): Effect.Effect<
  TcpStream | TlsStream & TcpStream,
  ConnectError | ResolveError | InvalidArgumentError | UnsupportedError | TlsError | BrokenResourceError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    yield* checkHost(host, "host")
    yield* checkPort(port, "port", { allowZero: false })
    yield* checkOptions(options)
    if (options.localPort !== undefined) yield* checkPort(options.localPort, "localPort", { allowZero: true })
    if (options.localHost !== undefined) yield* checkHost(options.localHost, "localHost")
    // An empty TLS name would silently be verified as "localhost".
    if (options.tlsHostname !== undefined) yield* checkHost(options.tlsHostname, "tlsHostname")
    const tlsHostname = typeof options.tls === "object" ? options.tls.hostname : undefined
    if (tlsHostname !== undefined) yield* checkHost(tlsHostname, "tls.hostname")
    const delay = (yield* decodeDuration(options.happyEyeballsDelay, "happyEyeballsDelay")) ?? DEFAULT_DELAY
    if (options.tls !== undefined && typeof options.tls !== "boolean") {
      const invalid = invalidTlsOptions(options.tls, "tls")
      if (invalid) return yield* Effect.fail(invalid)
    }
    const socketOptions = yield* checkTcpSocketOptions(options)
    const afterConnect = socketOptions.keepAlive !== undefined || socketOptions.receiveBufferSize !== undefined ||
      socketOptions.sendBufferSize !== undefined

    const local = options.localHost === undefined
      ? undefined
      : yield* tcp.resolveFirst(options.localHost, 0)

    let targets: Array<ResolvedAddress>
    const literal = ipFamily(host)
    if (literal !== 0) {
      targets = [{ address: host, family: literal }]
    } else {
      const resolved = options.resolver
        ? (yield* options.resolver(host)).map((address) => ({
          address,
          family: ipFamily(address) === 6 ? 6 as const : 4 as const
        }))
        : yield* tcp.lookup(host, local?.family ?? 0)
      const usable = local ? resolved.filter((r) => r.family === local.family) : resolved
      if (usable.length === 0) return yield* Effect.fail(new ResolveError({ host, reason: "NoAddress" }))
      targets = interleave(usable)
    }

    const scope = yield* Effect.scope
    const stream = yield* raceAttempts(targets, port, delay, scope, (target) =>
      tcp.connectAttempt({
        host: target.address,
        port,
        localAddress: local?.address,
        localPort: options.localPort,
        noDelay: options.noDelay ?? true,
        socketOptions: afterConnect ? { ...socketOptions, noDelay: undefined } : undefined
      })).pipe(
        Effect.mapError((attempts) =>
          new ConnectError({ host, port, reason: attempts[0]?.reason ?? "Unknown", attempts })
        )
      )
    const tls = options.tls === true ? {} : options.tls === false ? undefined : options.tls
    if (tls === undefined && options.tlsHostname === undefined) return stream
    const tlsStream = yield* wrapTls(stream, {
      ...tls,
      hostname: options.tlsHostname ?? tls?.hostname ?? host,
      ...(options.tlsStandardCompatible !== undefined ? { standardCompatible: options.tlsStandardCompatible } : {})
    }).pipe(
      // A stream we just connected belongs to no TLS session and is open.
      Effect.catchTag("ClosedResourceError", (error) => Effect.die(error))
    )
    return tlsStream as TlsStream & TcpStream
  })

/**
 * Changes socket options of an open TCP stream (one made by {@link connectTcp} or accepted by a
 * TCP listener; not a TLS stream over it). Options left out are unchanged. Bad values are an
 * `InvalidArgumentError` before anything is changed; a closed stream is `ClosedResourceError`.
 *
 * @since 0.2.0
 * @category combinators
 */
export const setTcpOptions = (
  stream: TcpStream,
  options: TcpSocketOptions
): Effect.Effect<void, InvalidArgumentError | UnsupportedError | ClosedResourceError | BrokenResourceError> =>
  Effect.flatMap(checkTcpSocketOptions(options), (checked) => tcp.setSocketOptions(stream, checked))

/**
 * Starts one attempt per target, staggered by `delay` (or at once when the previous attempt
 * failed). The winner's stream is registered in `scope` before anyone can be interrupted, so no
 * socket leaks whatever is interrupted when; losers are closed by the FiberSet.
 */
const raceAttempts = (
  targets: ReadonlyArray<ResolvedAddress>,
  port: number,
  delay: Duration.Duration,
  scope: Scope.Scope,
  attempt: (target: ResolvedAddress) => Effect.Effect<net.Socket, ConnectAttempt>
): Effect.Effect<TcpStream, Array<ConnectAttempt>> =>
  Effect.scoped(Effect.gen(function*() {
    const fibers = yield* FiberSet.make()
    const winner = yield* Deferred.make<TcpStream, Array<ConnectAttempt>>()
    const failures: Array<ConnectAttempt | undefined> = targets.map(() => undefined)
    let failed = 0

    for (let i = 0; i < targets.length; i++) {
      const settled = yield* Deferred.make<void>()
      const onConnected = (socket: net.Socket) =>
        Effect.gen(function*() {
          const stream = tcp.makeTcpStream(socket, "client")
          if (yield* Deferred.succeed(winner, stream)) {
            yield* Scope.addFinalizer(scope, stream.close)
            yield* Effect.annotateCurrentSpan(OUTCOME, "won")
          } else {
            yield* stream.close
            yield* Effect.annotateCurrentSpan(OUTCOME, "lost")
          }
        })
      const onFailed = (failure: ConnectAttempt) =>
        Effect.suspend(() => {
          failures[i] = failure
          failed += 1
          return failed === targets.length
            ? Deferred.fail(winner, failures.filter((f): f is ConnectAttempt => f !== undefined))
            : Effect.void
        })
      yield* FiberSet.run(
        fibers,
        Effect.uninterruptibleMask((restore) =>
          restore(attempt(targets[i]!)).pipe(
            Effect.onInterrupt(() => Effect.annotateCurrentSpan(OUTCOME, "cancelled")),
            Effect.matchEffect({
              onSuccess: onConnected,
              onFailure: (failure) =>
                Effect.andThen(
                  Effect.annotateCurrentSpan({ [OUTCOME]: "failed", "error.type": failure.reason }),
                  onFailed(failure)
                )
            }),
            Effect.withSpan("Socket.connectTcp.attempt", {
              kind: "client",
              attributes: {
                "network.transport": "tcp",
                "network.peer.address": targets[i]!.address,
                "network.peer.port": port,
                "network.type": targets[i]!.family === 6 ? "ipv6" : "ipv4"
              }
            }),
            Effect.ensuring(Deferred.succeed(settled, undefined))
          )
        )
      )
      if (i < targets.length - 1) {
        yield* Effect.raceFirst(Deferred.await(settled), Effect.sleep(delay))
        if (yield* Deferred.isDone(winner)) break
      }
    }
    return yield* Deferred.await(winner)
  }))
