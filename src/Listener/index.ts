/**
 * Listeners: bound sockets that accept connections. Listeners are scoped resources and Layers;
 * `serve` runs every connection on its own supervised fiber.
 *
 * @since 0.1.0
 */
import type * as Context from "effect/Context"
import type * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { ByteStream, SocketAddress } from "../ByteStream.js"
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
import type { TlsOptions, TlsStream } from "../Socket/Tls.js"

/**
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: typeof internal.TypeId = internal.TypeId

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The failures of `accept`: the listener was closed, another fiber is accepting, the
 * operating system refused to accept (`ListenError`, e.g. reason `"TooManyOpenFiles"`), or (TLS
 * listeners) the connection's handshake failed.
 *
 * @since 0.1.0
 * @category models
 */
export type AcceptError = ClosedResourceError | BusyResourceError | ListenError | TlsError | BrokenResourceError

/**
 * The failures of `serve`: the listener was closed (or is being accepted on elsewhere), or a
 * handler failed under `onHandlerError: "fail"`.
 *
 * @since 0.1.0
 * @category models
 */
export type ServeError<E> = ClosedResourceError | BusyResourceError | InvalidArgumentError | E

/**
 * Options of `serve`.
 *
 * @since 0.1.0
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
  readonly drainTimeout?: Duration.DurationInput
}

/**
 * A listener. `A` is the kind of stream it accepts.
 *
 * @since 0.1.0
 * @category models
 */
export interface Listener<A extends ByteStream = ByteStream> {
  readonly [TypeId]: TypeId
  /** Every address bound (one per socket; all share one port for TCP). */
  readonly addresses: ReadonlyArray<SocketAddress>
  /** The next connection; the stream is closed when the scope closes. */
  readonly accept: Effect.Effect<A, AcceptError, Scope.Scope>
  /** The next connection, owned by the caller, who must close it. */
  readonly acceptUnscoped: Effect.Effect<A, AcceptError>
  /**
   * Accepts connections forever, running `handler` for each on its own fiber. The stream is
   * closed when its handler ends; the handler may use the connection's `Scope`. Interrupting
   * `serve` interrupts every handler and closes every connection. Fails with
   * `ClosedResourceError` when the listener is closed.
   */
  readonly serve: <E, R>(
    handler: (stream: A) => Effect.Effect<unknown, E, R | Scope.Scope>,
    options?: ServeOptions
  ) => Effect.Effect<never, ServeError<E>, Exclude<R, Scope.Scope>>
  /** Stops listening (idempotent). Connections already accepted stay open. */
  readonly close: Effect.Effect<void>
}

/**
 * The listener service, as provided by `layerTcp` or `layerUnix`.
 *
 * @since 0.1.0
 * @category tags
 */
export const Listener: Context.Tag<Listener, Listener> = internal.tag

/**
 * Serves connections from the `Listener` service.
 *
 * @example
 * ```ts
 * import { Effect, Layer } from "effect"
 * import { ByteStream, Listener } from "effect-sockets"
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
 * @since 0.1.0
 * @category accessors
 */
export const serve = <E, R>(
  handler: (stream: ByteStream) => Effect.Effect<unknown, E, R | Scope.Scope>,
  options?: ServeOptions
): Effect.Effect<never, ServeError<E>, Listener | Exclude<R, Scope.Scope>> =>
  Effect.flatMap(Listener, (listener) => listener.serve(handler, options))

/**
 * A TLS listener over any listener: every accepted connection runs the server side of a TLS
 * handshake (in its own fiber under `serve`, within `handshakeTimeout`, default 30 s) before the
 * handler sees it. A failed handshake is logged once at warning level and never stops `serve`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const withTls: <A extends ByteStream>(listener: Listener<A>, options: TlsOptions) => Listener<TlsStream> =
  internalTls.withTls

export {
  /**
   * @since 0.1.0
   */
  createTcpListener,
  /**
   * @since 0.1.0
   */
  layerTcp,
  /**
   * @since 0.1.0
   */
  type TcpListenerOptions
} from "./Tcp.js"

export {
  /**
   * @since 0.1.0
   */
  createUnixListener,
  /**
   * @since 0.1.0
   */
  layerUnix,
  /**
   * @since 0.1.0
   */
  type UnixListenerOptions
} from "./Unix.js"
