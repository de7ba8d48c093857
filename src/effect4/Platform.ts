/**
 * The bridge to Effect 4's `effect/socket`: our connections as its `Socket` (a pull-based reader
 * with batched `pull` and STARTTLS `upgrade`, a writer with `writeAll`), our listeners as its
 * `SocketServer`, so that `effect/rpc` (`RpcClient.layerProtocolSocket`,
 * `RpcServer.layerProtocolSocketServer`), `effect/cluster` and everything else written against
 * those services runs over TCP, TLS and UNIX sockets from effect-sockets. The Effect 4 edition
 * of `effect-sockets/Platform`: the same names, over Effect 4's socket model.
 *
 * Semantics are those of `@effect/platform-node` 4's `NodeSocket` and `NodeSocketServer`:
 * acquiring `reader` opens a connection of its own in the caller's scope, and closing that scope
 * closes it (a suspended `pull` fails); every end is a `SocketError` — the peer's end of stream
 * `SocketCloseError` 1000, our own close 1006, read, write and open failures `SocketReadError`,
 * `SocketWriteError`, `SocketOpenError` whose `cause` is our typed error; the writer outlives
 * connections (a write while none is open waits for the next); concurrent writes are queued, each
 * sent whole; a `CloseEvent` written closes the connection; releasing the writer half-closes it.
 *
 * Differences from the Effect 3 edition, as Effect 4's `Socket` dictates: there is no `run`
 * callback (consumers pull), a clean end is reported as `SocketCloseError` 1000 instead of a
 * normal completion, and `SocketServer.address` is an `effect/net` `NetAddress.SocketAddress`.
 *
 * @since 0.2.0
 */
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type * as NetAddress from "effect/net/NetAddress"
import type * as Socket from "effect/socket/Socket"
import type * as SocketServer from "effect/socket/SocketServer"
import type { ByteStream, SocketAddress } from "./ByteStream.js"
import * as internal from "./internal/platform.js"
import type { Listener } from "./Listener/index.js"
import type { Connectable } from "./Socket/Connectable.js"
import { wrapTls } from "./Socket/Tls.js"

/**
 * Options of {@link toSocket}.
 *
 * @since 0.2.0
 * @category models
 */
export interface SocketOptions {
  /** Fail a reader whose connection is not open within this long (`SocketOpenError`, kind `"Timeout"`). */
  readonly openTimeout?: Duration.Input | undefined
}

/**
 * A `Socket` that dials `connectable` anew on every `reader` acquisition (as
 * `NodeSocket.makeNet` does), so an rpc client that retries reconnects.
 * `upgrade` runs the client side of a TLS handshake over the connection (STARTTLS, our
 * `Socket.wrapTls`): `servername` is the name verified, `key`/`cert` a client certificate.
 *
 * @example
 * ```ts
 * import { Platform, Socket } from "effect-sockets/effect4"
 *
 * const socket = Platform.toSocket(Socket.tcpConnectable("localhost", 1234))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const toSocket: <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
) => Effect.Effect<Socket.Socket> = (connectable, options = {}) => internal.toSocket(connectable, options, wrapTls)

/**
 * {@link toSocket} as a Layer of the `Socket` service (what `RpcClient.layerProtocolSocket`
 * needs).
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSocket: <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
) => Layer.Layer<Socket.Socket> = (connectable, options = {}) => internal.layerSocket(connectable, options, wrapTls)

/**
 * A `Socket` over one existing stream, which it owns: the first `reader` uses it and closes it
 * with its scope; a second fails with `SocketCloseError`, as for an accepted socket. `upgrade`
 * runs the server side of a TLS handshake when `serverSide` is set (it then needs `key` and
 * `cert`), the client side otherwise.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromStream = (
  stream: ByteStream,
  options: { readonly serverSide?: boolean } = {}
): Effect.Effect<Socket.Socket> => internal.fromStream(stream, { wrapTls, serverSide: options.serverSide ?? false })

/**
 * An address as `effect/net` gives it: an `InetAddress` for TCP and TLS listeners, a
 * `UnixPathAddress` for UNIX ones (a bytes path decoded as UTF-8).
 *
 * @since 0.2.0
 * @category conversions
 */
export const toAddress: (address: SocketAddress | undefined) => NetAddress.SocketAddress = internal.toAddress

/**
 * A `SocketServer` over any listener (TCP, TLS, UNIX): `run` serves every connection as a
 * `Socket` on its own fiber (`listener.serve`; `upgrade` runs the server side of STARTTLS); a
 * failing handler is logged as unhandled, as `NodeSocketServer` does; interrupting `run` closes
 * every connection. `address` is the listener's first address.
 *
 * @since 0.2.0
 * @category constructors
 */
export const toSocketServer = <A extends ByteStream>(
  listener: Listener<A, SocketAddress>
): SocketServer.SocketServer["Service"] => internal.toSocketServer(listener, wrapTls)

/**
 * The `SocketServer` over the `Listener` service (any listener layer: `Listener.layerTcp`,
 * `Listener.layerUnix`, with or without TLS).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Listener, Platform } from "effect-sockets/effect4"
 *
 * const server = Platform.layerSocketServer.pipe(Layer.provide(Listener.layerTcp({ localPort: 1234 })))
 * ```
 *
 * @since 0.2.0
 * @category layers
 */
export const layerSocketServer: Layer.Layer<SocketServer.SocketServer, never, Listener> = internal
  .layerSocketServer(wrapTls)
