/**
 * @internal
 * Effect layer of adoption: what an fd is, checked before anything takes it over, with AnyIO's
 * messages for the wrong kinds.
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
import type { Addon } from "./driver/addon.js"
import * as driver from "./driver/adopt.js"
import { handleFd, serverAddress } from "./driver/tcp.js"
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
export type SocketInfo = driver.SocketInfo

const invalid = (why: string) => new InvalidArgumentError({ argument: "fd", why })

/** @internal A socket fd's kind, or the argument error saying why it is not one we can adopt. */
export const inspectFd = (
  fd: unknown,
  operation: string
): Effect.Effect<{ readonly addon: Addon; readonly info: SocketInfo }, InvalidArgumentError | UnsupportedError> =>
  Effect.gen(function*() {
    if (typeof fd !== "number" || !Number.isInteger(fd) || fd < 0 || fd > 2 ** 31 - 1) {
      return yield* Effect.fail(invalid(`expected a file descriptor (a non-negative integer), got ${String(fd)}`))
    }
    const addon = yield* loadAddon(operation)
    const info = yield* Effect.try({
      try: () => driver.inspect(addon, fd),
      catch: (cause) => invalid(`cannot inspect it: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
    if (info === "invalid") return yield* Effect.fail(invalid(`${fd} is not an open file descriptor`))
    if (typeof info === "string") return yield* Effect.fail(invalid("the file descriptor does not refer to a socket"))
    if (info.domain === "other") {
      return yield* Effect.fail(invalid("address family not supported: expected AF_UNIX, AF_INET or AF_INET6"))
    }
    return { addon, info }
  })

/** @internal The type check, in AnyIO's words. */
export const expectType = (info: SocketInfo, type: "stream" | "dgram"): Effect.Effect<void, InvalidArgumentError> =>
  info.type === type
    ? Effect.void
    : Effect.fail(
      invalid(
        `socket type mismatch: expected ${type === "stream" ? "SOCK_STREAM" : "SOCK_DGRAM"}, got ${
          info.type === "stream" ? "SOCK_STREAM" : info.type === "dgram" ? "SOCK_DGRAM" : "another type"
        }`
      )
    )

/** @internal */
export const invalidFd = invalid

/** @internal A connected stream fd (TCP or UNIX) as our stream; it owns the fd from then on. */
export const streamFromFd = (
  fd: unknown
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError | UnsupportedError> =>
  Effect.gen(function*() {
    const { addon, info } = yield* inspectFd(fd, "Socket.fromFd")
    yield* expectType(info, "stream")
    if (info.listening) return yield* Effect.fail(invalid("the socket must be connected (it is listening)"))
    if (!info.connected) return yield* Effect.fail(invalid("the socket must be connected"))
    const n = fd as number
    if (info.domain === "unix") {
      return yield* Effect.try({
        try: () => {
          addon.setNonBlocking(n)
          // An adopted stream counts as a client's in the metrics: nothing here accepted it.
          return addonStream.make(addon, n, "client")
        },
        catch: (cause) => invalid(`cannot adopt it: ${cause instanceof Error ? cause.message : String(cause)}`)
      })
    }
    return yield* Effect.try({
      try: () => tcp.makeTcpStream(driver.netSocketFromFd(n), "client"),
      catch: (cause) => invalid(`cannot adopt it: ${cause instanceof Error ? cause.message : String(cause)}`)
    })
  })

/** @internal A connected `net.Socket` (TCP or UNIX) as our stream; it owns the socket from then on. */
export const streamFromNetSocket = (
  socket: net.Socket
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError> =>
  Effect.gen(function*() {
    const kind = driver.netSocketKind(socket)
    if (kind === "unusable") {
      return yield* Effect.fail(
        new InvalidArgumentError({ argument: "socket", why: "the socket must be a connected TCP or UNIX net.Socket" })
      )
    }
    if (kind === "tcp") return tcp.makeTcpStream(socket, "client")
    const addon = yield* Effect.either(loadAddon("Socket.fromNetSocket"))
    const fd = handleFd(socket)
    const names = addon._tag === "Right" && fd !== undefined
      ? driver.unixNames(addon.right, fd)
      : { local: null, remote: null }
    return unixStream.fromNetSocket(
      socket,
      names,
      "the stream was adopted from a net.Socket, which libuv reads with read(): passed fds would be discarded " +
        "(adopt the fd with Socket.fromFd instead)",
      "client"
    )
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
    const { addon, info } = yield* inspectFd(fd, "Listener.fromFd")
    yield* expectType(info, "stream")
    if (!info.listening) return yield* Effect.fail(invalid("the socket must be bound and listening"))
    const n = fd as number
    if (info.domain === "unix") {
      const path = addon.getsockname(n)
      yield* Effect.try({
        try: () => addon.setNonBlocking(n),
        catch: (cause) => invalid(`cannot adopt it: ${cause instanceof Error ? cause.message : String(cause)}`)
      })
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
 * unconnected UDP one as a bound UDP core. A connected UDP fd is unsupported: Node's dgram
 * adopts an fd only through `bind({ fd })`, which leaves it believing the socket unconnected
 * (its `send` then demands an address and `remoteAddress()` throws), and it cannot be told the
 * peer without reading the peer's inet address, which nothing here can.
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
    const { addon, info } = yield* inspectFd(fd, "Datagram.fromFd")
    yield* expectType(info, "dgram")
    const n = fd as number
    if (info.domain === "unix") {
      const remote = info.connected ? driver.unixNames(addon, n).remote : null
      const core = yield* Effect.acquireRelease(
        Effect.try({
          try: () => {
            addon.setNonBlocking(n)
            return new DatagramCore(addon, n, options.maxDatagramSize)
          },
          catch: (cause) => invalid(`cannot adopt it: ${cause instanceof Error ? cause.message : String(cause)}`)
        }),
        (core) => core.close
      )
      return { _tag: "unix" as const, core, remote }
    }
    if (info.connected) {
      return yield* Effect.fail(
        new UnsupportedError({
          operation: "Datagram.fromFd",
          why: "adopting a connected UDP socket: Node's dgram takes an fd only through bind({ fd }), which " +
            "treats it as unconnected (send needs an address, remoteAddress() throws)"
        })
      )
    }
    const core = yield* udp.openCore(
      info.domain === "inet6" ? 6 : 4,
      options.receiveQueueSize,
      { reusePort: false, ipv6Only: false },
      { fd: n },
      (payload, host, port) => [payload, [host, port] as const] as const
    )
    return { _tag: "udp" as const, core }
  })
