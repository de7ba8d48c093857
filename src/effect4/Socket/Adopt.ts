/**
 * Adopting connected stream sockets made elsewhere: an fd, or a `net.Socket`.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import * as adopt from "../internal/adopt.js"
import type { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import type { TcpStream } from "./Tcp.js"
import type { UnixStream } from "./Unix.js"

/**
 * Adopts a connected stream socket fd: a TCP one (AF_INET/AF_INET6) as a `TcpStream` (through
 * Node's `net.Socket`), an AF_UNIX one as a `UnixStream` on the addon, with `sendFds` and
 * `receiveFds` (the fd is made non-blocking and close-on-exec). The kind is read from the fd
 * itself (SO_TYPE, SO_DOMAIN, SO_ACCEPTCONN, getpeername), which needs the native addon
 * (without it: `UnsupportedError`).
 *
 * Anything else is an `InvalidArgumentError` before the fd is touched, and the fd stays yours: a
 * number that is not an open fd, a file ("the file descriptor does not refer to a socket"), a
 * datagram socket ("socket type mismatch: expected SOCK_STREAM, got SOCK_DGRAM"), a listening or
 * unconnected socket ("the socket must be connected"). Once adopted the fd is owned by the
 * stream: closed when the scope closes; do not close or use it yourself.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromFd = (
  fd: number
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.acquireRelease(adopt.streamFromFd(fd), (stream) => stream.close)

/**
 * Adopts a connected `net.Socket` (TCP or UNIX): a TCP one as a `TcpStream`, a UNIX one as a
 * `UnixStream` whose `sendFds`/`receiveFds` fail with `UnsupportedError` (libuv reads the socket
 * with plain `read()`, so passed fds would be lost: adopt its fd with {@link fromFd} for that).
 * The stream owns the socket from then on (destroyed when the scope closes); a socket that is
 * not connected (pending, connecting, destroyed) is an `InvalidArgumentError`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromNetSocket = (
  socket: net.Socket
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError, Scope.Scope> =>
  Effect.acquireRelease(adopt.streamFromNetSocket(socket), (stream) => stream.close)
