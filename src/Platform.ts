/**
 * The bridge to `@effect/platform`: our connections as its `Socket`, our listeners as its
 * `SocketServer`, so that `@effect/rpc` (`RpcClient.layerProtocolSocket`,
 * `RpcServer.layerProtocolSocketServer`) and everything else written against those services
 * runs over TCP, TLS and UNIX sockets from effect-sockets.
 *
 * Only at its own subpath, `effect-sockets/Platform`: it needs the optional peer
 * `@effect/platform`, which the rest of the package never loads.
 *
 * Semantics are those of `@effect/platform-node`'s `NodeSocket` and `NodeSocketServer`:
 * each `run` opens its own connection and closes it when it ends (interrupting `run` closes
 * everything); the peer's end of stream ends `run` normally; the handler's Effects are forked,
 * so a slow one never stalls reading; open, read and write failures are `SocketGenericError`s
 * (reason `"Open"`, `"Read"`, `"Write"`) whose `cause` is our typed error; a `CloseEvent`
 * written closes the connection; concurrent writes are queued, each sent whole.
 *
 * @since 0.1.0
 */
import type * as Socket from "@effect/platform/Socket"
import type * as SocketServer from "@effect/platform/SocketServer"
import type * as Duration from "effect/Duration"
import type * as Effect from "effect/Effect"
import type * as Layer from "effect/Layer"
import type { ByteStream, SocketAddress } from "./ByteStream.js"
import * as internal from "./internal/platform.js"
import type { Listener } from "./Listener/index.js"
import type { Connectable } from "./Socket/Connectable.js"

/**
 * Options of {@link toSocket}.
 *
 * @since 0.1.0
 * @category models
 */
export interface SocketOptions {
  /** Fail a `run` whose connection is not open within this long (`SocketGenericError`, `"OpenTimeout"`). */
  readonly openTimeout?: Duration.DurationInput | undefined
}

/**
 * A platform `Socket` that dials `connectable` anew on every `run`/`runRaw` (as
 * `NodeSocket.makeNet` does), so an rpc client that re-runs it reconnects.
 *
 * @example
 * ```ts
 * import { Socket } from "effect-sockets"
 * import * as Platform from "effect-sockets/Platform"
 *
 * const socket = Platform.toSocket(Socket.tcpConnectable("localhost", 1234))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const toSocket: <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
) => Effect.Effect<Socket.Socket> = internal.toSocket

/**
 * {@link toSocket} as a Layer of the platform's `Socket` service (what
 * `RpcClient.layerProtocolSocket` needs).
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSocket: <A extends ByteStream, E>(
  connectable: Connectable<A, E>,
  options?: SocketOptions
) => Layer.Layer<Socket.Socket> = internal.layerSocket

/**
 * A platform `Socket` over one existing stream, which it owns: the first `run` uses it and
 * closes it when it ends; a second `run` fails with `SocketCloseError`, as for an accepted
 * socket.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromStream: (stream: ByteStream) => Effect.Effect<Socket.Socket> = internal.fromStream

/**
 * An address as the platform's `SocketServer` gives it: `TcpAddress` for TCP and TLS
 * listeners, `UnixAddress` for UNIX ones (a bytes path decoded as UTF-8).
 *
 * @since 0.1.0
 * @category conversions
 */
export const toAddress: (address: SocketAddress | undefined) => SocketServer.Address = internal.toAddress

/**
 * A platform `SocketServer` over any listener (TCP, TLS, UNIX): `run` serves every
 * connection as a `Socket` on its own fiber (`listener.serve`); a failing handler is logged
 * at the fiber's unhandled-error log level, as `NodeSocketServer` does; interrupting `run`
 * closes every connection. `address` is the listener's first address.
 *
 * @since 0.1.0
 * @category constructors
 */
export const toSocketServer: <A extends ByteStream>(
  listener: Listener<A, SocketAddress>
) => SocketServer.SocketServer["Type"] = internal.toSocketServer

/**
 * The platform's `SocketServer` over the `Listener` service (any listener layer:
 * `Listener.layerTcp`, `Listener.layerUnix`, with or without TLS).
 *
 * @example
 * ```ts
 * import { Layer } from "effect"
 * import { Listener } from "effect-sockets"
 * import * as Platform from "effect-sockets/Platform"
 *
 * const server = Platform.layerSocketServer.pipe(Layer.provide(Listener.layerTcp({ localPort: 1234 })))
 * ```
 *
 * @since 0.1.0
 * @category layers
 */
export const layerSocketServer: Layer.Layer<SocketServer.SocketServer, never, Listener> = internal.layerSocketServer
