/**
 * @internal
 * The Effect 4 edition's adoption: an fd checked by the rules both editions share
 * (`src/internal/adoptRules.ts`) before anything takes it over, then this edition's stream,
 * listener or datagram core over it (the shared drivers do the taking).
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as net from "node:net"
import * as rules from "../../internal/adoptRules.js"
import type { Invalid } from "../../internal/argumentRules.js"
import type { Addon } from "../../internal/driver/addon.js"
import * as driver from "../../internal/driver/adopt.js"
import { serverAddress } from "../../internal/driver/tcp.js"
import { formatHostPort } from "../../internal/systemError.js"
import type { InetAddress, UnixAddress } from "../ByteStream.js"
import type { Listener } from "../Listener/index.js"
import { InvalidArgumentError, type ListenError, UnsupportedError } from "../NetError.js"
import type { TcpStream } from "../Socket/Tcp.js"
import type { UnixStream } from "../Socket/Unix.js"
import * as addonStream from "./addonStream.js"
import { listenFailed } from "./errors.js"
import * as listener from "./listener.js"
import { loadAddon } from "./native.js"
import * as tcp from "./tcp.js"
import * as udp from "./udp.js"
import { DatagramCore } from "./unixDatagram.js"
import * as unixStream from "./unixStream.js"

const fail = (invalid: Invalid) => Effect.fail(new InvalidArgumentError(invalid))

const adopting = <A>(take: () => A): Effect.Effect<A, InvalidArgumentError> =>
  Effect.try({ try: take, catch: (cause) => new InvalidArgumentError(rules.cannotAdopt(cause)) })

/** An fd checked to be adoptable as `kind` (the number first, then what the addon reads of it). */
const inspectAs = (
  fd: unknown,
  operation: string,
  kind: rules.AdoptedKind
): Effect.Effect<
  { readonly addon: Addon; readonly fd: number; readonly info: rules.SocketInfo },
  InvalidArgumentError | UnsupportedError
> =>
  Effect.gen(function*() {
    const notFd = rules.invalidFdNumber(fd)
    if (notFd !== undefined) return yield* fail(notFd)
    const addon = yield* loadAddon(operation)
    const info = rules.inspectOrInvalid(addon, fd as number)
    if (rules.isInvalid(info)) return yield* fail(info)
    const invalid = rules.invalidFor(info, kind)
    return invalid === undefined ? { addon, fd: fd as number, info } : yield* fail(invalid)
  })

/** @internal A connected stream fd (TCP or UNIX) as our stream; it owns the fd from then on. */
export const streamFromFd = (
  fd: unknown
): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError | UnsupportedError> =>
  Effect.flatMap(
    inspectAs(fd, "Socket.fromFd", "connected stream"),
    ({ addon, fd, info }) =>
      adopting((): TcpStream | UnixStream => {
        if (info.domain !== "unix") return tcp.makeTcpStream(driver.netSocketFromFd(fd), "client")
        addon.setNonBlocking(fd)
        return addonStream.make(addon, fd, "client")
      })
  )

/** @internal A connected `net.Socket` (TCP or UNIX) as our stream; it owns the socket from then on. */
export const streamFromNetSocket = (socket: net.Socket): Effect.Effect<TcpStream | UnixStream, InvalidArgumentError> =>
  Effect.gen(function*() {
    const kind = driver.netSocketKind(socket)
    if (kind === "unusable") return yield* fail(rules.unusableNetSocket)
    if (kind === "tcp") return tcp.makeTcpStream(socket, "client")
    const addon = yield* Effect.result(loadAddon("Socket.fromNetSocket"))
    const names = rules.netSocketNames(addon._tag === "Success" ? addon.success : undefined, socket)
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
    const { addon, fd: n, info } = yield* inspectAs(fd, "Listener.fromFd", "listening stream")
    if (info.domain === "unix") {
      const path = addon.getsockname(n)
      yield* adopting(() => addon.setNonBlocking(n))
      return unixStream.listenerOnFd(addon, n, path, Effect.void)
    }
    const server = yield* Effect.callback<net.Server, ListenError>((resume) => {
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

/** @internal What an adopted datagram fd became: a UNIX core (with its peer, if connected) or a UDP one. */
export type AdoptedDatagram =
  | { readonly _tag: "unix"; readonly core: DatagramCore; readonly remote: Buffer | null }
  | { readonly _tag: "udp"; readonly core: udp.Core<readonly [Uint8Array, readonly [string, number]]> }

/**
 * @internal
 * A datagram fd, checked: an AF_UNIX one as a core (connected to its peer's path, or not), an
 * unconnected UDP one as a bound UDP core (a connected one is unsupported: see
 * `adoptRules.unsupportedDatagram`).
 */
export const datagramFromFd = (
  fd: unknown,
  options: { readonly maxDatagramSize: number; readonly receiveQueueSize: number }
): Effect.Effect<AdoptedDatagram, InvalidArgumentError | UnsupportedError | ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const { addon, fd: n, info } = yield* inspectAs(fd, "Datagram.fromFd", "datagram")
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
