/**
 * Connectables (AnyIO 4.10's `TCPConnectable`/`UNIXConnectable`): values that know how to open
 * a connection, and open a new one each time `connect` runs. A client that reconnects (an rpc
 * client, a pool) holds a connectable instead of a stream.
 *
 * @since 0.2.0
 */
import type * as Effect from "effect/Effect"
import { hasProperty } from "effect/Predicate"
import type * as Scope from "effect/Scope"
import type { ByteStream } from "../ByteStream.js"
import type {
  BrokenResourceError,
  ConnectError,
  InvalidArgumentError,
  ResolveError,
  TlsError,
  UnsupportedError
} from "../NetError.js"
import { connectTcp, type ConnectTcpOptions, type ConnectTlsOptions, type TcpStream } from "./Tcp.js"
import type { TlsStream } from "./Tls.js"
import { connectUnix, type UnixStream } from "./Unix.js"

/**
 * @since 0.2.0
 * @category type ids
 */
export const ConnectableTypeId: unique symbol = Symbol.for("effect-sockets/Connectable")

/**
 * @since 0.2.0
 * @category type ids
 */
export type ConnectableTypeId = typeof ConnectableTypeId

/**
 * The failures of a connectable's `connect`, the same as `connectTcp`'s: `BrokenResourceError`
 * is the transport failing during a TLS handshake, `UnsupportedError` a socket option that needs
 * the native addon.
 *
 * @since 0.2.0
 * @category models
 */
export type ConnectableError =
  | ConnectError
  | ResolveError
  | TlsError
  | InvalidArgumentError
  | BrokenResourceError
  | UnsupportedError

/**
 * Something that opens a new connection each time `connect` runs; the stream is closed when
 * the scope closes.
 *
 * @since 0.2.0
 * @category models
 */
export interface Connectable<A extends ByteStream = ByteStream, E = ConnectableError> {
  readonly [ConnectableTypeId]: ConnectableTypeId
  readonly connect: Effect.Effect<A, E, Scope.Scope>
}

/**
 * @since 0.2.0
 * @category guards
 */
export const isConnectable = (u: unknown): u is Connectable<ByteStream, unknown> => hasProperty(u, ConnectableTypeId)

/**
 * A connectable from any scoped connect effect (a stream over a proxy, a test pair…).
 *
 * @since 0.2.0
 * @category constructors
 */
export const makeConnectable = <A extends ByteStream, E>(
  connect: Effect.Effect<A, E, Scope.Scope>
): Connectable<A, E> => ({ [ConnectableTypeId]: ConnectableTypeId, connect })

/**
 * Connects to `host:port` with {@link connectTcp} (happy eyeballs, TLS when `options.tls` or
 * `options.tlsHostname` is given) each time `connect` runs. Arguments are checked by `connect`.
 *
 * @example
 * ```ts
 * import { Effect } from "effect"
 * import { Socket } from "effect-sockets/effect4"
 *
 * const server = Socket.tcpConnectable("localhost", 1234)
 * const hello = Effect.scoped(Effect.flatMap(server.connect, (stream) => stream.send("hello\n")))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const tcpConnectable: {
  (host: string, port: number, options: ConnectTlsOptions): Connectable<TlsStream & TcpStream>
  (host: string, port: number, options?: ConnectTcpOptions): Connectable<TcpStream | (TlsStream & TcpStream)>
} = (host: string, port: number, options?: ConnectTcpOptions): Connectable<any> =>
  makeConnectable(connectTcp(host, port, options))

/**
 * Connects to the UNIX stream socket at `path` with {@link connectUnix} each time `connect` runs.
 *
 * @since 0.2.0
 * @category constructors
 */
export const unixConnectable = (
  path: string | Uint8Array
): Connectable<UnixStream, ConnectError | InvalidArgumentError> => makeConnectable(connectUnix(path))
