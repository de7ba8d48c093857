/**
 * Adopting datagram sockets made elsewhere.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as adopt from "../internal/adopt.js"
import * as systemd from "../internal/systemd.js"
import { checkPositiveInt } from "../internal/validate.js"
import type { InvalidArgumentError, ListenError, UnsupportedError } from "../NetError.js"
import { type UdpSocket, unconnectedOn as udpOn } from "./Udp.js"
import { connectedOn, type ConnectedUnixDatagramSocket, unconnectedOn, type UnixDatagramSocket } from "./Unix.js"

/**
 * Adopts a datagram socket fd: an AF_UNIX one (on the addon) as a `UnixDatagramSocket`, or a
 * `ConnectedUnixDatagramSocket` when it is connected; an unconnected, bound UDP one as a
 * `UdpSocket` (through Node's `dgram`, `bind({ fd })`). A connected UDP fd is an
 * `UnsupportedError`: Node's dgram adopts an fd only as unconnected (its `send` would demand an
 * address). A non-socket or a stream socket ("socket type mismatch: expected SOCK_DGRAM, got
 * SOCK_STREAM") is an `InvalidArgumentError` before the fd is touched; once adopted the socket
 * owns the fd and closes it with its scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromFd = (
  fd: number,
  options: { readonly maxDatagramSize?: number; readonly receiveQueueSize?: number } = {}
): Effect.Effect<
  UdpSocket | UnixDatagramSocket | ConnectedUnixDatagramSocket,
  InvalidArgumentError | UnsupportedError | ListenError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const maxDatagramSize = options.maxDatagramSize ?? 65536
    const receiveQueueSize = options.receiveQueueSize ?? 1024
    yield* checkPositiveInt(maxDatagramSize, "maxDatagramSize")
    yield* checkPositiveInt(receiveQueueSize, "receiveQueueSize")
    const adopted = yield* adopt.datagramFromFd(fd, { maxDatagramSize, receiveQueueSize })
    if (adopted._tag === "udp") return udpOn(adopted.core)
    return adopted.remote === null ? unconnectedOn(adopted.core) : connectedOn(adopted.core, adopted.remote)
  })

/**
 * The datagram sockets (UDP or UNIX) passed to this process by socket activation
 * (`systemd-socket-activate --datagram`, `ListenDatagram=`), as `Listener.fromSystemd` reads
 * them (sd_listen_fds(3): LISTEN_PID must be this process; LISTEN_FDNAMES names them; the
 * variables are unset once read unless `keepEnvironment`). Stream fds are left for
 * `Listener.fromSystemd`. Each socket owns its fd and closes it with the scope.
 *
 * @since 0.1.0
 * @category constructors
 */
export const fromSystemd = (
  options: { readonly name?: string; readonly keepEnvironment?: boolean } = {}
): Effect.Effect<
  ReadonlyArray<UdpSocket | UnixDatagramSocket | ConnectedUnixDatagramSocket>,
  InvalidArgumentError | UnsupportedError | ListenError,
  Scope.Scope
> => systemd.adoptActivated(options, "datagram", "Datagram.fromSystemd", (fd) => fromFd(fd))
