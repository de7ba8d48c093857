/**
 * UDP sockets, unconnected and connected, over `node:dgram`.
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import type * as Scope from "effect/Scope"
import * as Stream from "effect/Stream"
import * as dgram from "node:dgram"
import * as net from "node:net"
import type { InetAddress } from "../ByteStream.js"
import { toBytes } from "../internal/byteStream.js"
import { DatagramQueue } from "../internal/datagramQueue.js"
import * as nodeTcp from "../internal/nodeTcp.js"
import { checkHost, checkPort, checkPositiveInt, invalidHost, invalidPort } from "../internal/validate.js"
import {
  BrokenResourceError,
  type BusyResourceError,
  ClosedResourceError,
  formatHostPort,
  InvalidArgumentError,
  ListenError,
  reasonOf,
  type ResolveError,
  UnsupportedError
} from "../NetError.js"

/**
 * Where a datagram came from: `[host, port]`.
 *
 * @since 0.1.0
 * @category models
 */
export type UdpEndpoint = readonly [host: string, port: number]

/**
 * The failures of a datagram `receive`: the socket was closed, another fiber is receiving, or
 * the system reported an error for an earlier datagram (e.g. ICMP port unreachable on a
 * connected socket, reason `"ConnectionRefused"`). The last one is reported once; the socket
 * keeps working.
 *
 * @since 0.1.0
 * @category models
 */
export type DatagramReceiveError = ClosedResourceError | BusyResourceError | BrokenResourceError

/**
 * The failures of a datagram send: closed, or this datagram failed (too long, unreachable…);
 * a failed datagram never breaks the socket.
 *
 * @since 0.1.0
 * @category models
 */
export type DatagramSendError = ClosedResourceError | BrokenResourceError | InvalidArgumentError

/**
 * Options shared by both kinds of UDP socket.
 *
 * @since 0.1.0
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
}

/**
 * The members both kinds of UDP socket share.
 *
 * @since 0.1.0
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
  /** Joins a multicast group for as long as the scope lives. */
  readonly joinMulticast: (
    group: string,
    interfaceAddress?: string
  ) => Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError, Scope.Scope>
}

/**
 * An unconnected UDP socket: receives from anyone, sends anywhere.
 *
 * @since 0.1.0
 * @category models
 */
export interface UdpSocket extends UdpSocketBase {
  readonly receive: Effect.Effect<readonly [Uint8Array, UdpEndpoint], DatagramReceiveError>
  readonly sendto: (payload: Uint8Array | string, host: string, port: number) => Effect.Effect<void, DatagramSendError>
  /** Every received datagram with its sender; ends when the socket is closed. */
  readonly stream: Stream.Stream<readonly [Uint8Array, UdpEndpoint], Exclude<DatagramReceiveError, ClosedResourceError>>
}

/**
 * A connected UDP socket: sends to one peer; the kernel filters out everyone else.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectedUdpSocket extends UdpSocketBase {
  readonly attributes: UdpSocketBase["attributes"] & { readonly remoteAddress: InetAddress }
  readonly receive: Effect.Effect<Uint8Array, DatagramReceiveError>
  readonly send: (payload: Uint8Array | string) => Effect.Effect<void, DatagramSendError>
  /** Every received datagram; ends when the socket is closed. */
  readonly stream: Stream.Stream<Uint8Array, Exclude<DatagramReceiveError, ClosedResourceError>>
}

const DEFAULT_QUEUE = 1024

/** @internal A stream of receives that ends when the socket is closed. */
export const untilClosed = <A, E extends { readonly _tag: string }>(receive: Effect.Effect<A, E>) =>
  Stream.repeatEffectOption(
    Effect.mapError(
      receive,
      (error) =>
        error._tag === "ClosedResourceError" ? Option.none() : Option.some(error as Exclude<E, ClosedResourceError>)
    )
  )

interface Core<A> {
  readonly socket: dgram.Socket
  readonly queue: DatagramQueue<A>
  readonly family: "IPv4" | "IPv6"
  isClosed(): boolean
  /** Closes once, whoever asks first; completes when the port is free. */
  readonly close: Effect.Effect<void>
}

const setter =
  <A extends Array<unknown>>(core: Core<unknown>, apply: (...args: A) => void) =>
  (...args: A): Effect.Effect<void, ClosedResourceError | InvalidArgumentError> =>
    Effect.suspend((): Effect.Effect<void, ClosedResourceError | InvalidArgumentError> => {
      if (core.isClosed()) return Effect.fail(new ClosedResourceError({ operation: "configure" }))
      return Effect.try({
        try: () => apply(...args),
        catch: (cause) =>
          new InvalidArgumentError({ argument: "option", why: String((cause as Error).message ?? cause) })
      })
    })

/** A TTL is an integer hop count; Node would silently truncate 1.5. */
const checkTtl = (ttl: number): number => {
  if (!Number.isInteger(ttl) || ttl < 1 || ttl > 255) {
    throw new RangeError(`ttl must be an integer from 1 to 255 (got ${ttl})`)
  }
  return ttl
}

const base = (core: Core<unknown>): UdpSocketBase => {
  const { socket } = core
  const local = socket.address()
  return {
    attributes: { family: core.family, localAddress: { _tag: "InetAddress", host: local.address, port: local.port } },
    dropped: Effect.sync(() => core.queue.dropped),
    close: core.close,
    setBroadcast: setter(core, (enabled: boolean) => socket.setBroadcast(enabled)) as UdpSocketBase["setBroadcast"],
    setTtl: setter(core, (ttl: number) => socket.setTTL(checkTtl(ttl))),
    setMulticastTtl: setter(core, (ttl: number) => socket.setMulticastTTL(checkTtl(ttl))),
    setMulticastLoopback: setter(
      core,
      (enabled: boolean) => void socket.setMulticastLoopback(enabled)
    ) as UdpSocketBase["setMulticastLoopback"],
    joinMulticast: (group, interfaceAddress) =>
      Effect.acquireRelease(
        Effect.suspend((): Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError> => {
          if (core.isClosed()) return Effect.fail(new ClosedResourceError({ operation: "joinMulticast" }))
          if (net.isIP(group) === 0) {
            return Effect.fail(new InvalidArgumentError({ argument: "group", why: "must be an IP address" }))
          }
          return Effect.try({
            try: () => socket.addMembership(group, interfaceAddress),
            catch: (cause) => new BrokenResourceError({ reason: reasonOf(cause), operation: "joinMulticast", cause })
          })
        }),
        () =>
          Effect.sync(() => {
            if (!core.isClosed()) {
              try {
                socket.dropMembership(group, interfaceAddress)
              } catch {
                // Already left (e.g. the interface went away): nothing to undo.
              }
            }
          })
      )
  }
}

const resolveFirst = (
  host: string,
  family: 0 | 4 | 6
): Effect.Effect<{ address: string; family: 4 | 6 }, ResolveError> =>
  net.isIP(host) !== 0
    ? Effect.succeed({ address: host, family: net.isIP(host) as 4 | 6 })
    : Effect.map(nodeTcp.lookup(host, family), (addresses) => addresses[0]!)

const familyNumber = (
  family: "IPv4" | "IPv6" | undefined
): 0 | 4 | 6 => (family === "IPv4" ? 4 : family === "IPv6" ? 6 : 0)

/** Creates and binds the dgram socket; from then on its datagrams and errors feed the queue. */
const open = <A>(
  options: UdpOptions,
  toItem: (payload: Buffer, info: dgram.RemoteInfo) => A,
  remoteFamily?: 4 | 6
): Effect.Effect<Core<A>, ListenError | ResolveError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const localPort = options.localPort ?? 0
    yield* checkPort(localPort, "localPort", { allowZero: true })
    if (options.localHost !== undefined) yield* checkHost(options.localHost, "localHost")
    const queueSize = options.receiveQueueSize ?? DEFAULT_QUEUE
    yield* checkPositiveInt(queueSize, "receiveQueueSize")
    if (options.reusePort && !nodeTcp.supportsReusePort()) {
      return yield* Effect.fail(
        new UnsupportedError({
          operation: "reusePort",
          why: `Node ${process.versions.node} cannot set SO_REUSEPORT (22.12+ can)`
        })
      )
    }
    const wanted = remoteFamily ?? familyNumber(options.family)
    const local = options.localHost === undefined ? undefined : yield* resolveFirst(options.localHost, wanted)
    const family: 4 | 6 = local?.family ?? (wanted === 0 ? 4 : wanted)
    const address = local?.address ?? (family === 6 ? "::" : "0.0.0.0")
    const queue = new DatagramQueue<A>(queueSize)
    let closing = false
    let closed = false
    const waiting: Array<() => void> = []
    const socket = dgram.createSocket({
      type: family === 6 ? "udp6" : "udp4",
      ...(options.reusePort ? { reusePort: true } : {})
    } as dgram.SocketOptions)
    socket.on("close", () => {
      closed = true
      for (const resume of waiting.splice(0)) resume()
    })
    const close = Effect.async<void>((resume) => {
      if (closed) return resume(Effect.void)
      waiting.push(() => resume(Effect.void))
      if (closing) return
      closing = true
      queue.close()
      socket.close()
    })
    yield* Effect.acquireRelease(
      Effect.async<void, ListenError>((resume) => {
        socket.once("error", (cause) => {
          closing = true
          socket.close()
          resume(
            Effect.fail(
              new ListenError({ reason: reasonOf(cause), address: formatHostPort(address, localPort), cause })
            )
          )
        })
        socket.bind({ address, port: localPort }, () => {
          socket.removeAllListeners("error")
          socket.on("message", (payload, info) => queue.offer(toItem(payload, info)))
          socket.on(
            "error",
            (cause) => queue.fail(new BrokenResourceError({ reason: reasonOf(cause), operation: "receive", cause }))
          )
          resume(Effect.void)
        })
      }),
      () => close
    )
    return { socket, queue, family: family === 6 ? "IPv6" as const : "IPv4" as const, isClosed: () => closing, close }
  })

/** The largest UDP payload: 65,535 less the IP (20 or 40 bytes) and UDP (8 bytes) headers. */
const maxPayload = (family: "IPv4" | "IPv6") => (family === "IPv6" ? 65_487 : 65_507)

/**
 * One datagram out. When Node hands it to the kernel at once (its send queue stays empty), the
 * send completes without waiting for Node's callback (a tick later); an error that callback
 * still brings is kept and reported by the next operation, as ICMP errors are. Otherwise the
 * send waits for the callback, and its error belongs to this datagram.
 */
const sendOne = (
  core: Core<unknown>,
  payload: Uint8Array | string,
  to?: { readonly host: string; readonly port: number }
): Effect.Effect<void, DatagramSendError> =>
  Effect.suspend(() => {
    const host = to?.host
    const port = to?.port
    if (to !== undefined) {
      const invalid = invalidHost(host, "host") ?? invalidPort(port, "port", false)
      if (invalid) return Effect.fail(invalid)
    }
    if (core.isClosed()) return Effect.fail(new ClosedResourceError({ operation: "send" }))
    const pending = core.queue.takeError()
    if (pending) {
      return Effect.fail(new BrokenResourceError({ reason: pending.reason, operation: "send", cause: pending.cause }))
    }
    const bytes = toBytes(payload)
    if (bytes.length > maxPayload(core.family)) {
      const cause = Object.assign(
        new Error(`a UDP payload holds at most ${maxPayload(core.family)} bytes (got ${bytes.length})`),
        { code: "EMSGSIZE" }
      )
      return Effect.fail(new BrokenResourceError({ reason: "MessageTooLong", operation: "send", cause }))
    }
    // Node calls back a tick later at the earliest: by then `waiter` is set if we wait.
    let waiter: ((cause: Error | null) => void) | undefined
    const done = (cause: Error | null) => {
      if (waiter) waiter(cause)
      else if (cause) core.queue.fail(new BrokenResourceError({ reason: reasonOf(cause), operation: "send", cause }))
    }
    try {
      if (host === undefined) core.socket.send(bytes, done)
      else core.socket.send(bytes, port, host, done)
    } catch (cause) {
      return Effect.fail(new InvalidArgumentError({ argument: "payload", why: (cause as Error).message }))
    }
    if (core.socket.getSendQueueCount() === 0) return Effect.void
    return Effect.async<void, DatagramSendError>((resume) => {
      waiter = (cause) =>
        resume(
          cause
            ? Effect.fail(new BrokenResourceError({ reason: reasonOf(cause), operation: "send", cause }))
            : Effect.void
        )
    })
  })

/**
 * A UDP socket bound to `localHost`/`localPort` (or any address of `family`, port 0 = any free
 * port). One of `family` or `localHost` is required. The socket is closed when the scope closes.
 *
 * @example
 * ```ts
 * // AnyIO's "hello" service
 * Effect.scoped(Effect.gen(function* () {
 *   const udp = yield* Datagram.createUdpSocket({ family: "IPv4", localPort: 1234 })
 *   yield* udp.stream.pipe(Stream.runForEach(([packet, [host, port]]) =>
 *     udp.sendto(Buffer.concat([Buffer.from("Hello, "), packet]), host, port)))
 * }))
 * ```
 *
 * @since 0.1.0
 * @category constructors
 */
export const createUdpSocket = (
  options: UdpOptions
): Effect.Effect<UdpSocket, ListenError | ResolveError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    if (options.family === undefined && options.localHost === undefined) {
      return yield* Effect.fail(new InvalidArgumentError({ argument: "options", why: "need family or localHost" }))
    }
    const core = yield* open(
      options,
      (payload, info): readonly [Uint8Array, UdpEndpoint] => [payload, [info.address, info.port]]
    )
    const receive = core.queue.take
    return {
      ...base(core),
      receive,
      sendto: (payload, host, port) => sendOne(core, payload, { host, port }),
      stream: untilClosed(receive)
    }
  })

/**
 * A UDP socket connected to `remoteHost:remotePort` (the first address a name resolves to):
 * `send` needs no address, and the kernel drops datagrams from anyone else. ICMP errors for
 * earlier datagrams (e.g. `ConnectionRefused`) are reported once by the next operation.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createConnectedUdpSocket = (
  remoteHost: string,
  remotePort: number,
  options: UdpOptions = {}
): Effect.Effect<
  ConnectedUdpSocket,
  ListenError | ResolveError | InvalidArgumentError | UnsupportedError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    yield* checkHost(remoteHost, "remoteHost")
    yield* checkPort(remotePort, "remotePort", { allowZero: false })
    const remote = yield* resolveFirst(remoteHost, familyNumber(options.family))
    const core = yield* open(options, (payload): Uint8Array => payload, remote.family)
    yield* Effect.async<void, ListenError>((resume) => {
      core.socket.connect(remotePort, remote.address, () => resume(Effect.void))
    })
    const base_ = base(core)
    const receive = core.queue.take
    return {
      ...base_,
      attributes: {
        ...base_.attributes,
        remoteAddress: { _tag: "InetAddress", host: remote.address, port: remotePort }
      },
      receive,
      send: (payload) => sendOne(core, payload),
      stream: untilClosed(receive)
    }
  })
