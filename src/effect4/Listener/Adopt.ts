/**
 * Adopting listening sockets made elsewhere.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { InetAddress, UnixAddress } from "../ByteStream.js"
import * as adopt from "../internal/adopt.js"
import { checkPositiveInt } from "../internal/validate.js"
import type { InvalidArgumentError, ListenError, UnsupportedError } from "../NetError.js"
import type { TcpStream } from "../Socket/Tcp.js"
import type { UnixStream } from "../Socket/Unix.js"
import type { Listener } from "./index.js"

/**
 * Adopts an fd that is already bound and listening: a TCP one (through Node's `net.Server`)
 * gives TCP streams, an AF_UNIX one (on the addon) UNIX streams that pass fds. Needs the native
 * addon to tell what the fd is. A non-socket, a datagram socket or a socket that is not
 * listening ("the socket must be bound and listening") is an `InvalidArgumentError` before the
 * fd is touched; once adopted the listener owns the fd and closes it with its scope (a UNIX
 * listener does not remove its socket file).
 *
 * @since 0.2.0
 * @category constructors
 */
export const fromFd = (
  fd: number,
  options: { readonly backlog?: number } = {}
): Effect.Effect<
  Listener<TcpStream, InetAddress> | Listener<UnixStream, UnixAddress>,
  InvalidArgumentError | UnsupportedError | ListenError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const backlog = options.backlog ?? 511
    yield* checkPositiveInt(backlog, "backlog")
    return yield* Effect.acquireRelease(
      adopt.listenerFromFd(fd, backlog),
      (listener): Effect.Effect<void> => listener.close
    )
  })
