/**
 * @internal
 * Effect layer of UDP sockets over `driver/udp.ts` (the driver both editions share): the
 * bounded receive queue, send outcomes as typed errors, and the socket options as effects.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import * as rules from "../../internal/argumentRules.js"
import { ipFamily } from "../../internal/driver/dns.js"
import { UdpDriver, type UdpSocketOptions } from "../../internal/driver/udp.js"
import { codeOf, formatHostPort, systemError } from "../../internal/systemError.js"
import { badInterface, checkTtl, familyNumber, maxPayload } from "../../internal/udpRules.js"
import type { DatagramSendError } from "../Datagram/DatagramSocket.js"
import type { UdpOptions, UdpSocketBase } from "../Datagram/Udp.js"
import {
  BrokenResourceError,
  ClosedResourceError,
  type ConnectError,
  InvalidArgumentError,
  type ListenError,
  type ResolveError,
  type UnsupportedError
} from "../NetError.js"
import { toBytes } from "./byteStream.js"
import { DatagramQueue } from "./datagramQueue.js"
import { broken, connectFailed, listenFailed } from "./errors.js"
import { resolveFirst } from "./tcp.js"
import { Traffic } from "./telemetry.js"
import { check, checkHost, checkPort, checkPositiveInt, checkReusePort, toError } from "./validate.js"

const DEFAULT_QUEUE = 1024

/** @internal An open UDP socket: its driver, its receive queue and its family. */
export interface Core<A> {
  readonly driver: UdpDriver
  readonly queue: DatagramQueue<A>
  readonly family: "IPv4" | "IPv6"
  /** Bytes in (as they arrive) and out, flushed into the counters at close (telemetry.ts). */
  readonly traffic: Traffic
  /** Closes once, whoever asks first; completes when the port is free. */
  readonly close: Effect.Effect<void>
}

const setter =
  <A extends Array<unknown>>(core: Core<unknown>, apply: (...args: A) => void) =>
  (...args: A): Effect.Effect<void, ClosedResourceError | InvalidArgumentError> =>
    Effect.suspend((): Effect.Effect<void, ClosedResourceError | InvalidArgumentError> => {
      if (core.driver.closing) return Effect.fail(new ClosedResourceError({ operation: "configure" }))
      return Effect.try({
        try: () => apply(...args),
        catch: (cause) =>
          new InvalidArgumentError({ argument: "option", why: String((cause as Error).message ?? cause) })
      })
    })

/** @internal The members both kinds of UDP socket share. */
export const base = (core: Core<unknown>): UdpSocketBase => {
  const { driver } = core
  const local = driver.localAddress()
  return {
    attributes: { family: core.family, localAddress: { _tag: "InetAddress", host: local.host, port: local.port } },
    dropped: Effect.sync(() => core.queue.dropped),
    close: core.close,
    setBroadcast: setter(core, (enabled: boolean) => driver.setBroadcast(enabled)) as UdpSocketBase["setBroadcast"],
    setTtl: setter(core, (ttl: number) => driver.setTtl(checkTtl(ttl))),
    setMulticastTtl: setter(core, (ttl: number) => driver.setMulticastTtl(checkTtl(ttl))),
    setMulticastLoopback: setter(
      core,
      (enabled: boolean) => driver.setMulticastLoopback(enabled)
    ) as UdpSocketBase["setMulticastLoopback"],
    setMulticastInterface: (interfaceAddress) =>
      Effect.suspend((): Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError> => {
        if (driver.closing) return Effect.fail(new ClosedResourceError({ operation: "setMulticastInterface" }))
        const why = badInterface(interfaceAddress, core.family)
        if (why) return Effect.fail(new InvalidArgumentError({ argument: "interfaceAddress", why }))
        return Effect.try({
          try: () => driver.setMulticastInterface(interfaceAddress),
          catch: (cause) =>
            codeOf(cause) === "EINVAL"
              ? new InvalidArgumentError({ argument: "interfaceAddress", why: String((cause as Error).message) })
              : broken("setMulticastInterface", cause)
        })
      }),
    joinMulticast: (group, interfaceAddress) =>
      Effect.acquireRelease(
        Effect.suspend((): Effect.Effect<void, ClosedResourceError | InvalidArgumentError | BrokenResourceError> => {
          if (driver.closing) return Effect.fail(new ClosedResourceError({ operation: "joinMulticast" }))
          if (ipFamily(group) === 0) {
            return Effect.fail(new InvalidArgumentError({ argument: "group", why: "must be an IP address" }))
          }
          return Effect.try({
            try: () => driver.addMembership(group, interfaceAddress),
            catch: (cause) => broken("joinMulticast", cause)
          })
        }),
        () =>
          Effect.sync(() => {
            if (!driver.closing) {
              try {
                driver.dropMembership(group, interfaceAddress)
              } catch {
                // Already left (e.g. the interface went away): nothing to undo.
              }
            }
          })
      )
  }
}

const ipv6OnlyOnIpv4 = () => new InvalidArgumentError({ argument: "ipv6Only", why: "cannot be true on an IPv4 socket" })

/** @internal Creates and binds the socket; from then on its datagrams and errors feed the queue. */
export const open = <A>(
  options: UdpOptions,
  toItem: (payload: Buffer, host: string, port: number) => A,
  remoteFamily?: 4 | 6
): Effect.Effect<Core<A>, ListenError | ResolveError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const localPort = options.localPort ?? 0
    yield* checkPort(localPort, "localPort", { allowZero: true })
    if (options.localHost !== undefined) yield* checkHost(options.localHost, "localHost")
    const queueSize = options.receiveQueueSize ?? DEFAULT_QUEUE
    yield* checkPositiveInt(queueSize, "receiveQueueSize")
    yield* checkReusePort(options.reusePort ?? false)
    yield* check(rules.invalidBoolean(options.ipv6Only, "ipv6Only"))
    yield* check(rules.invalidBufferSizes(options))
    if (options.ipv6Only === true && options.family === "IPv4") return yield* Effect.fail(ipv6OnlyOnIpv4())
    const wanted = remoteFamily ?? familyNumber(options.family)
    const local = options.localHost === undefined ? undefined : yield* resolveFirst(options.localHost, wanted)
    const family: 4 | 6 = local?.family ?? (wanted === 0 ? 4 : wanted)
    const address = local?.address ?? (family === 6 ? "::" : "0.0.0.0")
    if (options.ipv6Only === true && family === 4) return yield* Effect.fail(ipv6OnlyOnIpv4())
    return yield* openCore(
      family,
      queueSize,
      {
        reusePort: options.reusePort ?? false,
        ipv6Only: options.ipv6Only ?? false,
        receiveBufferSize: options.receiveBufferSize,
        sendBufferSize: options.sendBufferSize
      },
      { address, port: localPort },
      toItem
    )
  })

/**
 * @internal
 * The socket and its queue: bound to `target`, or adopting the UDP fd `target.fd` (which it owns
 * from then on, even when the bind fails).
 */
export const openCore = <A>(
  family: 4 | 6,
  queueSize: number,
  options: UdpSocketOptions & { readonly reusePort: boolean },
  target: { readonly address: string; readonly port: number } | { readonly fd: number },
  toItem: (payload: Buffer, host: string, port: number) => A
): Effect.Effect<Core<A>, ListenError, Scope.Scope> =>
  Effect.gen(function*() {
    const queue = new DatagramQueue<A>(queueSize)
    const driver = new UdpDriver(family, options.reusePort, options)
    const traffic = new Traffic("udp", undefined)
    const close = Effect.callback<void>((resume) => {
      const open = !driver.closing
      driver.close(() => resume(Effect.void))
      if (open) {
        traffic.close()
        traffic.addDropped(queue.dropped)
        // Last: Effect 4 runs a woken receiver at once, and it must find the socket closing.
        queue.close()
      }
    })
    const description = "fd" in target ? `fd ${target.fd}` : formatHostPort(target.address, target.port)
    yield* Effect.acquireRelease(
      Effect.callback<void, ListenError>((resume) => {
        driver.bind(target, {
          message: (payload, host, port) => {
            traffic.addReceived(payload.length)
            queue.offer(toItem(payload, host, port))
          },
          error: (cause) => queue.fail(broken("receive", cause))
        }, (cause) => {
          resume(cause ? Effect.fail(listenFailed(description, cause)) : Effect.void)
        })
      }),
      () => close
    )
    return { driver, queue, family: family === 6 ? "IPv6" as const : "IPv4" as const, traffic, close }
  })

/**
 * @internal
 * One datagram out, and its own outcome: the send completes when Node's callback reports that
 * the kernel took the datagram (or fails with the error it reports for it), so an error never
 * lands on another datagram.
 */
export const sendOne = (
  core: Core<unknown>,
  payload: Uint8Array | string,
  to?: { readonly host: string; readonly port: number }
): Effect.Effect<void, DatagramSendError> =>
  Effect.suspend(() => {
    const host = to?.host
    const port = to?.port
    if (to !== undefined) {
      const invalid = toError(rules.invalidHost(host, "host") ?? rules.invalidPort(port, "port", false))
      if (invalid) return Effect.fail(invalid)
    }
    if (core.driver.closing) return Effect.fail(new ClosedResourceError({ operation: "send" }))
    // An error the socket reported on receive (ICMP for an earlier datagram): reported once.
    const pending = core.queue.takeError()
    if (pending) {
      return Effect.fail(new BrokenResourceError({ reason: pending.reason, operation: "send", cause: pending.cause }))
    }
    const bytes = toBytes(payload, "payload")
    if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
    const limit = maxPayload(core.family)
    if (bytes.length > limit) {
      const cause = systemError("EMSGSIZE", `a UDP payload holds at most ${limit} bytes (got ${bytes.length})`)
      return Effect.fail(new BrokenResourceError({ reason: "MessageTooLong", operation: "send", cause }))
    }
    return Effect.callback<void, DatagramSendError>((resume) => {
      try {
        core.driver.send(bytes, port, host, (cause) => {
          if (cause) return resume(Effect.fail(broken("send", cause)))
          core.traffic.addSent(bytes.length)
          resume(Effect.void)
        })
      } catch (cause) {
        resume(
          Effect.fail(new InvalidArgumentError({ argument: "payload", why: String((cause as Error).message ?? cause) }))
        )
      }
    })
  })

/** @internal connect(2) of the socket to one peer; a connect that cannot succeed fails typed. */
export const connect = (core: Core<unknown>, port: number, host: string): Effect.Effect<void, ConnectError> =>
  Effect.callback<void, ConnectError>((resume) =>
    core.driver.connect(
      port,
      host,
      (cause) => resume(cause ? Effect.fail(connectFailed(host, port, cause)) : Effect.void)
    )
  )
