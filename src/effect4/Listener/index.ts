/**
 * Listeners: bound sockets that accept connections. Listeners are scoped resources and Layers;
 * `serve` runs every connection on its own supervised fiber.
 *
 * @since 0.2.0
 */
import * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ByteStream, InetAddress, SocketAddress, UnixAddress } from "../ByteStream.js"
import * as internal from "../internal/listener.js"
import * as internalTls from "../internal/tlsListener.js"
import type {
  BrokenResourceError,
  BusyResourceError,
  ClosedResourceError,
  InvalidArgumentError,
  ListenError,
  TlsError
} from "../NetError.js"
import type { TcpStream } from "../Socket/Tcp.js"
import type { TlsOptions, TlsStream } from "../Socket/Tls.js"
import type { UnixStream } from "../Socket/Unix.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.2.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The failures of `accept`: the listener was closed, another fiber is accepting, the
 * operating system refused to accept (`ListenError`, e.g. reason `"TooManyOpenFiles"`), or (TLS
 * listeners) the connection's handshake failed.
 *
 * @since 0.2.0
 * @category models
 */
export type AcceptError = ClosedResourceError | BusyResourceError | ListenError | TlsError | BrokenResourceError

/**
 * The failures of `serve`: the listener was closed (or is being accepted on elsewhere), or a
 * handler failed under `onHandlerError: "fail"`. Under the default `"log"` a handler's failure
 * never reaches `serve`, and `serve`'s error is `ServeError<never>`.
 *
 * @since 0.2.0
 * @category models
 */
export type ServeError<E = never> = ClosedResourceError | BusyResourceError | InvalidArgumentError | E

/**
 * Options of `serve`.
 *
 * @since 0.2.0
 * @category models
 */
export interface ServeOptions {
  /**
   * What a failing handler does: `"log"` (default) logs its full cause at error level and the
   * server goes on; `"fail"` stops `serve` with that failure (and interrupts the other handlers).
   */
  readonly onHandlerError?: "log" | "fail"
  /** Accept no more connections while this many handlers run. */
  readonly maxConnections?: number
  /**
   * Graceful shutdown: when `serve` is interrupted, stop accepting and give running handlers
   * this long to finish before they are interrupted. Without it, they are interrupted at once.
   */
  readonly drainTimeout?: Duration.Input
}

/**
 * The error of `serve` under options `O`: `ServeError<E>` when `onHandlerError` may be
 * `"fail"`, else (the default `"log"`) `ServeError<never>`, i.e. only
 * `ClosedResourceError | BusyResourceError`: a logged handler failure never reaches `serve`.
 *
 * @since 0.2.0
 * @category models
 */
export type ServeErrorFor<E, O extends ServeOptions> = "onHandlerError" extends keyof O
  ? "fail" extends O["onHandlerError" & keyof O] ? ServeError<E> : ServeError
  : ServeError

/**
 * The type of `serve`: its error is typed by the options (see {@link ServeErrorFor}). `R0` is
 * what serving needs besides the handler's own requirements (e.g. the tag it serves from).
 *
 * @since 0.2.0
 * @category models
 */
export type Serve<A extends ByteStream, R0 = never> = <E, R, O extends ServeOptions = {}>(
  handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
  options?: O
) => Effect.Effect<never, ServeErrorFor<E, O>, R0 | Exclude<R, Scope.Scope>>

/**
 * A listener. `A` is the kind of stream it accepts, `Address` the kind of address it is bound
 * to: `InetAddress` for TCP and TLS listeners, `UnixAddress` for UNIX ones.
 *
 * @since 0.2.0
 * @category models
 */
export interface Listener<A extends ByteStream = ByteStream, Address extends SocketAddress = SocketAddress> {
  readonly [TypeId]: TypeId
  /** Every address bound (one per socket; all share one port for TCP). */
  readonly addresses: ReadonlyArray<Address>
  /** The next connection; the stream is closed when the scope closes. */
  readonly accept: Effect.Effect<A, AcceptError, Scope.Scope>
  /** The next connection, owned by the caller, who must close it. */
  readonly acceptUnscoped: Effect.Effect<A, AcceptError>
  /**
   * Accepts connections forever, running `handler` for each on its own fiber. The stream is
   * closed when its handler ends; the handler may use the connection's `Scope`. Interrupting
   * `serve` interrupts every handler and closes every connection. Fails with
   * `ClosedResourceError` when the listener is closed; a handler's failure only under
   * `onHandlerError: "fail"`.
   */
  readonly serve: Serve<A>
  /** Stops listening (idempotent). Connections already accepted stay open. */
  readonly close: Effect.Effect<void>
}

/**
 * A TCP listener: `Listener<TcpStream, InetAddress>`.
 *
 * @since 0.2.0
 * @category models
 */
export type TcpListenerService = Listener<TcpStream, InetAddress>

/**
 * A UNIX stream listener: `Listener<UnixStream, UnixAddress>`.
 *
 * @since 0.2.0
 * @category models
 */
export type UnixListenerService = Listener<UnixStream, UnixAddress>

/**
 * A TLS listener: `Listener<TlsStream, InetAddress>`.
 *
 * @since 0.2.0
 * @category models
 */
export type TlsListenerService = Listener<TlsStream, InetAddress>

/**
 * The generic listener service, `Listener<ByteStream>`, as provided by `layerTcp`, `layerUnix`
 * (and every other listener layer) beside its stream-typed tag. With several listener layers in
 * one program it is the one provided last: serve from the typed tags (`TcpListener`,
 * `UnixListener`, `TlsListener`) with {@link serveWith} instead.
 *
 * @since 0.2.0
 * @category tags
 */
export const Listener: Context.Service<Listener, Listener> = internal.tag

/**
 * Serves connections from the `Listener` service.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ByteStream, Listener } from "effect-sockets/effect4"
 *
 * const handle = (client: ByteStream.ByteStream) =>
 *   Effect.gen(function* () {
 *     const name = yield* client.receive(1024)
 *     yield* client.send(`Hello, ${new TextDecoder().decode(name)}\n`)
 *   })
 *
 * const main = Listener.serve(handle).pipe(Effect.provide(Listener.layerTcp({ localPort: 1234 })))
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const serve: Serve<ByteStream, Listener> = (handler, options) =>
  Effect.flatMap(Listener, (listener) => listener.serve(handler, options))

/**
 * Serves connections from the listener under `tag`, whose handler gets that listener's own
 * stream type: `serveWith(UnixListener, handler)` hands the handler a `UnixStream` (so it can
 * `sendFds`), `serveWith(TcpListener, handler)` a `TcpStream`. Any tag of a `Listener` works,
 * including your own (two TCP listeners in one program, each under its tag). The error is typed
 * by `onHandlerError` as for {@link serve}.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { Listener } from "effect-sockets/effect4"
 *
 * const unix = Listener.serveWith(Listener.UnixListener, (client) => client.sendFds("fd", [0]))
 * const tcp = Listener.serveWith(Listener.TcpListener, (client) => client.send("hello\n"))
 *
 * const main = Effect.all([unix, tcp], { concurrency: "unbounded" }).pipe(
 *   Effect.provide(Layer.merge(Listener.layerUnix("/tmp/app.sock"), Listener.layerTcp({ localPort: 1234 })))
 * )
 * ```
 *
 * @since 0.2.0
 * @category accessors
 */
export const serveWith = <I, A extends ByteStream, Address extends SocketAddress, E, R, O extends ServeOptions = {}>(
  tag: Context.Key<I, Listener<A, Address>>,
  handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
  options?: O
): Effect.Effect<never, ServeErrorFor<E, O>, I | Exclude<R, Scope.Scope>> =>
  Effect.flatMap(tag, (listener) => listener.serve(handler, options))

/**
 * A TLS listener over any listener: every accepted connection runs the server side of a TLS
 * handshake (in its own fiber under `serve`, within `handshakeTimeout`, default 30 s) before the
 * handler sees it. A failed handshake is logged once at warning level (one line: the peer, the
 * reason, OpenSSL's code) and never stops `serve`. The SecureContext is made here, once, for
 * every connection: returning clients resume their sessions, and a certificate or key that
 * cannot be used fails this effect with `InvalidArgumentError` (argument `"tls"`).
 *
 * @since 0.2.0
 * @category constructors
 */
export const withTls: <A extends ByteStream, Address extends SocketAddress>(
  listener: Listener<A, Address>,
  options: TlsOptions
) => Effect.Effect<Listener<TlsStream, Address>, InvalidArgumentError> = internalTls.withTls

export {
  /**
   * @since 0.2.0
   */
  createTcpListener,
  /**
   * @since 0.2.0
   */
  layerTcp,
  /**
   * @since 0.2.0
   */
  TcpListener,
  /**
   * @since 0.2.0
   */
  type TcpListenerOptions,
  /**
   * @since 0.2.0
   */
  TlsListener
} from "./Tcp.js"

export {
  /**
   * @since 0.2.0
   */
  createUnixListener,
  /**
   * @since 0.2.0
   */
  layerUnix,
  /**
   * @since 0.2.0
   */
  UnixListener,
  /**
   * @since 0.2.0
   */
  type UnixListenerOptions
} from "./Unix.js"

export {
  /**
   * @since 0.2.0
   */
  fromFd
} from "./Adopt.js"

export {
  /**
   * @since 0.2.0
   */
  fromSystemd,
  /**
   * @since 0.2.0
   */
  layerSystemd,
  /**
   * @since 0.2.0
   */
  type SystemdOptions
} from "./Systemd.js"
