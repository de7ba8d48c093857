/**
 * @internal
 * Effect layer of adoption: an fd checked (by `adoptRules.ts`, which both editions share) before
 * anything takes it over, then the Effect 3 stream, listener or datagram core over it.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import type { InetAddress, UnixAddress } from "../ByteStream.js"
import type { Listener } from "../Listener/index.js"
import { InvalidArgumentError, type ListenError, UnsupportedError } from "../NetError.js"
import type { TcpStream } from "../Socket/Tcp.js"
import type { UnixStream } from "../Socket/Unix.js"
import * as addonStream from "./addonStream.js"
import * as rules from "./adoptRules.js"
import type { Invalid } from "./argumentRules.js"
import type { Addon } from "./driver/addon.js"
import * as driver from "./driver/adopt.js"
import { serverAddress } from "./driver/tcp.js"
import { listenFailed } from "./errors.js"
import * as listener from "./listener.js"
import { loadAddon } from "./native.js"
import { formatHostPort } from "./systemError.js"
import * as tcp from "./tcp.js"
import * as udp from "./udp.js"
import type { Core as UdpCore } from "./udp.js"
import { DatagramCore } from "./unixDatagram.js"
import * as unixStream from "./unixStream.js"

/** @internal */
export type SocketInfo = rules.SocketInfo

const fail = (invalid: Invalid) => Effect.fail(new InvalidArgumentError(invalid))

const adopting = <A>(take: () => A): Effect.Effect<A, InvalidArgumentError> =>
  Effect.try({ try: take, catch: (cause) => new InvalidArgumentError(rules.cannotAdopt(cause)) })

/** @internal A socket fd's kind, or the argument error saying why it is not one we can adopt. */
export const inspectFd = (
  fd: unknown,
  operation: string
): Effect.Effect<{ readonly addon: Addon; readonly info: SocketInfo }, InvalidArgumentError | UnsupportedError> =>
  Effect.gen(function*() {
    const notFd = rules.invalidFdNumber(fd)
    if (notFd !== undefined) return yield* fail(notFd)
    const addon = yield* loadAddon(operation)
    const info = rules.inspectOrInvalid(addon, fd as number)
    return rules.isInvalid(info) ? yield* fail(info) : { addon, info }
  })

/** @internal An fd checked to be adoptable as `kind`: the addon and what the fd is. */
const inspectAs = (fd: unknown, operation: string, kind: rules.AdoptedKind) =>
  Effect.flatMap(inspectFd(fd, operation), (inspected) => {
    const invalid = rules.invalidFor(inspected.info, kind)
    return invalid === undefined ? Effect.succeed(inspected) : fail(invalid)
  })

/** @internal A connected stream fd (TCP or UNIX) as our stream; it owns the fd from then on. */
export const streamFromFd = (
  fd: unknown
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError | UnsupportedError> =>
  Effect.gen(function*() {
    const { addon, info } = yield* inspectAs(fd, "Socket.fromFd", "connected stream")
    const n = fd as number
    return yield* adopting(() => {
      if (info.domain !== "unix") return tcp.makeTcpStream(driver.netSocketFromFd(n), "client")
      addon.setNonBlocking(n)
      // An adopted stream counts as a client's in the metrics: nothing here accepted it.
      return addonStream.make(addon, n, "client")
    })
  })

/** @internal A connected `net.Socket` (TCP or UNIX) as our stream; it owns the socket from then on. */
export const streamFromNetSocket = (
  socket: net.Socket
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError> =>
  Effect.gen(function*() {
    const kind = driver.netSocketKind(socket)
    if (kind === "unusable") return yield* fail(rules.unusableNetSocket)
    if (kind === "tcp") return tcp.makeTcpStream(socket, "client")
    const addon = yield* Effect.either(loadAddon("Socket.fromNetSocket"))
    const names = rules.netSocketNames(addon._tag === "Right" ? addon.right : undefined, socket)
    return unixStream.fromNetSocket(socket, names, rules.NET_SOCKET_FDS_WHY, "client")
  })

/**
 * @internal
 * A listening stream fd (TCP or UNIX) as a listener; it owns the fd from then on (a TCP one
 * through Node's `net.Server`).
 */
export const listenerFromFd = (
  fd: unknown,
  backlog: number
): Effect.Effect<
  Listener<TcpStream, InetAddress> | Listener<UnixStream, UnixAddress>,
  InvalidArgumentError | UnsupportedError | ListenError
> =>
  Effect.gen(function*() {
    const { addon, info } = yield* inspectAs(fd, "Listener.fromFd", "listening stream")
    const n = fd as number
    if (info.domain === "unix") {
      const path = addon.getsockname(n)
      yield* adopting(() => addon.setNonBlocking(n))
      return unixStream.listenerOnFd(addon, n, path, Effect.void)
    }
    const server = yield* Effect.async<net.Server, ListenError>((resume) => {
      driver.netServerFromFd(n, backlog, (error, server) => {
        resume(error ? Effect.fail(listenFailed(`fd ${n}`, error)) : Effect.succeed(server!))
      })
    })
    const address = serverAddress(server)
    return listener.make({
      servers: [server],
      addresses: [address],
      description: formatHostPort(address.host, address.port),
      backlog,
      wrap: (socket) => tcp.makeTcpStream(socket, "server")
    })
  })

/**
 * @internal
 * A datagram fd, checked: an AF_UNIX one as a core (connected to its peer's path, or not), an
 * unconnected UDP one as a bound UDP core (a connected one is unsupported: see
 * `adoptRules.unsupportedDatagram`).
 */
export const datagramFromFd = (
  fd: unknown,
  options: { readonly maxDatagramSize: number; readonly receiveQueueSize: number }
): Effect.Effect<
  | { readonly _tag: "unix"; readonly core: DatagramCore; readonly remote: Buffer | null }
  | { readonly _tag: "udp"; readonly core: UdpCore<readonly [Uint8Array, readonly [string, number]]> },
  InvalidArgumentError | UnsupportedError | ListenError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const { addon, info } = yield* inspectAs(fd, "Datagram.fromFd", "datagram")
    const n = fd as number
    if (info.domain === "unix") {
      const remote = info.connected ? driver.unixNames(addon, n).remote : null
      const core = yield* Effect.acquireRelease(
        adopting(() => {
          addon.setNonBlocking(n)
          return new DatagramCore(addon, n, options.maxDatagramSize)
        }),
        (core) => core.close
      )
      return { _tag: "unix" as const, core, remote }
    }
    const unsupported = rules.unsupportedDatagram(info, "Datagram.fromFd")
    if (unsupported !== undefined) return yield* Effect.fail(new UnsupportedError(unsupported))
    const core = yield* udp.openCore(
      info.domain === "inet6" ? 6 : 4,
      options.receiveQueueSize,
      { reusePort: false, ipv6Only: false },
      { fd: n },
      (payload, host, port) => [payload, [host, port] as const] as const
    )
    return { _tag: "udp" as const, core }
  })
