/**
 * UDP sockets, unconnected and connected, over `node:dgram` (the driver both editions
 * share). The Effect 4 edition of `effect-sockets/Datagram`'s UDP half: the same names,
 * options, errors and semantics.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { InetAddress } from "../ByteStream.js"
import { untilClosed } from "../internal/datagram.js"
import { resolveFirst } from "../internal/tcp.js"
import { base, connect, type Core, open, sendOne } from "../internal/udp.js"
import { checkHost, checkOptions, checkPort } from "../internal/validate.js"
import {
  type BrokenResourceError,
  type ClosedResourceError,
  type ConnectError,
  InvalidArgumentError,
  type ListenError,
  type ResolveError,
  type UnsupportedError
} from "../NetError.js"
import type { ConnectedDatagramSocket, DatagramSocket } from "./DatagramSocket.js"

/**
 * Where a datagram came from: `[host, port]`.
 *
 * @since 0.2.0
 * @category models
 */
export type UdpEndpoint = readonly [host: string, port: number]

/**
 * Options shared by both kinds of UDP socket.
 *
 * @since 0.2.0
 * @category models
 */
export interface UdpOptions {
  readonly family?: "IPv4" | "IPv6"
  /** The local address (an IP address or a name) to bind. */
  readonly localHost?: string
  /** The local port to bind (default 0: any free port). */
  readonly localPort?: number
  /** SO_REUSEPORT (needs Node 22.12+). */
  readonly reusePort?: boolean
  /**
   * How many received datagrams may wait unreceived (default 1024). Node cannot pause a UDP
   * socket, so beyond this the oldest waiting datagram is dropped and counted in `dropped`.
   */
  readonly receiveQueueSize?: number
  /**
   * IPV6_V6ONLY on an IPv6 socket (default `false`: an IPv6 socket bound to `::` also receives
   * IPv4, through mapped addresses). `true` on an IPv4 socket is an `InvalidArgumentError`.
   */
  readonly ipv6Only?: boolean
  /** SO_RCVBUF in bytes (1..2^30; Linux doubles it and clamps it to `net.core.rmem_max`). */
  readonly receiveBufferSize?: number
  /** SO_SNDBUF in bytes (1..2^30; Linux doubles it and clamps it to `net.core.wmem_max`). */
  readonly sendBufferSize?: number
}

/**
 * The members both kinds of UDP socket share.
 *
 * @since 0.2.0
 * @category models
 */
export interface UdpSocketBase {
  readonly attributes: { readonly family: "IPv4" | "IPv6"; readonly localAddress: InetAddress }
  /** How many datagrams the receive queue dropped (oldest first) because nobody received them. */
  readonly dropped: Effect.Effect<number>
  /** Closes the socket (idempotent); completes once the port is free again. */
  readonly close: Effect.Effect<void>
  readonly setBroadcast: (enabled: boolean) => Effect.Effect<void, ClosedResourceError>
  readonly setTtl: (ttl: number) => Effect.Effect<void, ClosedResourceError | InvalidArgumentError>
  readonly setMulticastTtl: (ttl: number) => Effect.Effect<void, ClosedResourceError | InvalidArgumentError>
  readonly setMulticastLoopback: (enabled: boolean) => Effect.Effect<void, ClosedResourceError>
  /**
   * Chooses the interface outgoing multicast datagrams leave by (IP_MULTICAST_IF): an IPv4
   * socket takes the interface's IPv4 address ("10.0.0.2"), an IPv6 socket a scope
   * ("::%eth0"). A malformed address is an `InvalidArgumentError`; the OS refusing it (e.g. no
   * interface has that address: `AddressNotAvailable`) a `BrokenResourceError`.
   */
  readonly setMulticastInterface: (
    interfaceAddress: string
  ) => Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError>
  /**
   * Joins a multicast group (on the interface with `interfaceAddress`, else one the OS picks)
   * for as long as the scope lives; leaves when it closes. No usable interface: reason
   * `NoSuchDevice`.
   */
  readonly joinMulticast: (
    group: string,
    interfaceAddress?: string
  ) => Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError, Scope.Scope>
}

/**
 * An unconnected UDP socket: receives from anyone, sends anywhere.
 *
 * @since 0.2.0
 * @category models
 */
export interface UdpSocket extends UdpSocketBase, DatagramSocket<UdpEndpoint, [host: string, port: number]> {}

/**
 * A connected UDP socket: sends to one peer; the kernel filters out everyone else.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectedUdpSocket extends UdpSocketBase, ConnectedDatagramSocket {
  readonly attributes: UdpSocketBase["attributes"] & { readonly remoteAddress: InetAddress }
}

/**
 * A UDP socket bound to `localHost`/`localPort` (or any address of `family`, port 0 = any free
 * port). One of `family` or `localHost` is required. The socket is closed when the scope closes.
 *
 * @example
 * ```ts
 * import { Effect, Stream } from "effect"
 * import { Datagram } from "effect-sockets/effect4"
 *
 * // AnyIO's "hello" service
 * Effect.scoped(Effect.gen(function* () {
 *   const udp = yield* Datagram.createUdpSocket({ family: "IPv4", localPort: 1234 })
 *   yield* udp.stream.pipe(Stream.runForEach(([packet, [host, port]]) =>
 *     udp.sendto(Buffer.concat([Buffer.from("Hello, "), packet]), host, port)))
 * }))
 * ```
 *
 * @since 0.2.0
 * @category constructors
 */
export const createUdpSocket = (
  options: UdpOptions
): Effect.Effect<UdpSocket, ListenError | ResolveError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    if (options === undefined || (options.family === undefined && options.localHost === undefined)) {
      return yield* Effect.fail(new InvalidArgumentError({ argument: "options", why: "need family or localHost" }))
    }
    return unconnectedOn(yield* open(options, toEndpoint))
  })

/** @internal What an unconnected socket's queue holds. */
export const toEndpoint = (payload: Buffer, host: string, port: number): readonly [Uint8Array, UdpEndpoint] => [
  payload,
  [host, port]
]

/** @internal The unconnected socket over a core. */
export const unconnectedOn = (core: Core<readonly [Uint8Array, UdpEndpoint]>): UdpSocket => {
  return {
    ...base(core),
    receive: core.queue.take,
    sendto: (payload, host, port) => sendOne(core, payload, { host, port }),
    stream: untilClosed(core.queue.takeBatch)
  }
}

/**
 * A UDP socket connected to `remoteHost:remotePort` (the first address a name resolves to):
 * `send` needs no address, and the kernel drops datagrams from anyone else. ICMP errors for
 * earlier datagrams (e.g. `ConnectionRefused`) are reported once by the next operation. A connect
 * the system refuses (e.g. `::1` from a socket bound to `127.0.0.1`) fails with `ConnectError`.
 *
 * @since 0.2.0
 * @category constructors
 */
export const createConnectedUdpSocket = (
  remoteHost: string,
  remotePort: number,
  options: UdpOptions = {}
): Effect.Effect<
  ConnectedUdpSocket,
  ConnectError | ListenError | ResolveError | InvalidArgumentError | UnsupportedError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    yield* checkHost(remoteHost, "remoteHost")
    yield* checkPort(remotePort, "remotePort", { allowZero: false })
    yield* checkOptions(options)
    const family = options.family === "IPv4" ? 4 : options.family === "IPv6" ? 6 : 0
    const remote = yield* resolveFirst(remoteHost, family)
    const core = yield* open(options, (payload): Uint8Array => payload, remote.family)
    yield* connect(core, remotePort, remote.address)
    const base_ = base(core)
    return {
      ...base_,
      attributes: {
        ...base_.attributes,
        remoteAddress: { _tag: "InetAddress", host: remote.address, port: remotePort }
      },
      receive: core.queue.take,
      send: (payload) => sendOne(core, payload),
      stream: untilClosed(core.queue.takeBatch)
    }
  })
