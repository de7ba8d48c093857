/**
 * UNIX datagram sockets, unconnected and connected, through the native addon (Node has none).
 *
 * @since 0.1.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type * as Stream from "effect/Stream"
import * as fs from "node:fs"
import type { UnixAddress } from "../ByteStream.js"
import { type Addon, WOULD_BLOCK } from "../internal/addon.js"
import { toBytes } from "../internal/byteStream.js"
import { FdWatcher } from "../internal/fdWatcher.js"
import { broken, loadAddon } from "../internal/native.js"
import { clearStale, describePath, isAbstract, toPathBytes, toUnixAddress } from "../internal/unixPath.js"
import { checkPositiveInt } from "../internal/validate.js"
import {
  BrokenResourceError,
  BusyResourceError,
  ClosedResourceError,
  ConnectError,
  InvalidArgumentError,
  ListenError,
  reasonOf,
  type UnsupportedError
} from "../NetError.js"
import { type DatagramReceiveError, type DatagramSendError, untilClosed } from "./Udp.js"

/**
 * A sender's address: its path (a string; bytes for an abstract or non-UTF-8 name), or `null`
 * for an unbound sender.
 *
 * @since 0.1.0
 * @category models
 */
export type UnixSender = string | Uint8Array | null

/**
 * Options of the UNIX datagram constructors.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixDatagramOptions {
  /**
   * The path to bind (a stale socket file there is replaced; any other file is AddressInUse).
   * Without it the socket is unnamed: it can send, but nobody can address a reply to it.
   */
  readonly localPath?: string | Uint8Array
  /** Permission bits of the bound socket file. */
  readonly localMode?: number
  /** Without `localPath`: let Linux bind a unique abstract name, so replies can reach us. */
  readonly autobind?: boolean
  /** The largest datagram `receive` accepts (default 65536); a longer one is reported, not cut. */
  readonly maxDatagramSize?: number
}

/**
 * An unconnected UNIX datagram socket.
 *
 * @since 0.1.0
 * @category models
 */
export interface UnixDatagramSocket {
  readonly attributes: { readonly family: "unix"; readonly localAddress: UnixAddress }
  readonly receive: Effect.Effect<readonly [Uint8Array, UnixSender], DatagramReceiveError>
  readonly sendto: (payload: Uint8Array | string, path: string | Uint8Array) => Effect.Effect<void, DatagramSendError>
  /** Every received datagram with its sender; ends when the socket is closed. */
  readonly stream: Stream.Stream<readonly [Uint8Array, UnixSender], Exclude<DatagramReceiveError, ClosedResourceError>>
  readonly close: Effect.Effect<void>
}

/**
 * A UNIX datagram socket connected to one path.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectedUnixDatagramSocket {
  readonly attributes: {
    readonly family: "unix"
    readonly localAddress: UnixAddress
    readonly remoteAddress: UnixAddress
  }
  readonly receive: Effect.Effect<Uint8Array, DatagramReceiveError>
  readonly send: (payload: Uint8Array | string) => Effect.Effect<void, DatagramSendError>
  /** Every received datagram; ends when the socket is closed. */
  readonly stream: Stream.Stream<Uint8Array, Exclude<DatagramReceiveError, ClosedResourceError>>
  readonly close: Effect.Effect<void>
}

/** The largest `maxDatagramSize` (the kernel's own limit is the socket buffer, far below it). */
const MAX_DATAGRAM_SIZE = 16 * 1024 * 1024

/** A sender whose receiver's queue is full gets EAGAIN; poll cannot tell when it drains. */
const FULL_QUEUE_RETRY = "1 millis"

/** Is a datagram socket bound at this path? (Connecting to a stale one is refused.) */
const isLive = (addon: Addon) => (path: Buffer): Effect.Effect<boolean> =>
  Effect.sync(() => {
    const probe = addon.socket("dgram")
    try {
      addon.connect(probe, path)
      return true
    } catch {
      return false
    } finally {
      addon.close(probe)
    }
  })

class DatagramCore {
  closed = false
  private pending: readonly [Uint8Array, Buffer | null] | undefined = undefined
  readonly watcher: FdWatcher
  private readonly buffer: Buffer

  constructor(readonly addon: Addon, readonly fd: number, maxDatagramSize: number) {
    this.watcher = new FdWatcher(addon, fd)
    this.buffer = Buffer.allocUnsafe(maxDatagramSize)
  }

  /** Reads one datagram into `pending`; "wait" when there is none yet. */
  private fill(): "ready" | "wait" {
    if (!this.watcher.maybeReadable) return "wait"
    const result = this.addon.recvmsg(this.fd, this.buffer, 0, this.buffer.length, 0)
    if (result === null) return "wait"
    if (result.truncated) {
      throw Object.assign(new Error(`a datagram longer than ${this.buffer.length} bytes was received and dropped`), {
        code: "EMSGSIZE"
      })
    }
    this.pending = [Buffer.from(this.buffer.subarray(0, result.bytes)), result.address]
    return "ready"
  }

  /**
   * The next datagram, shaped by `shape` in the final step, which nothing can interrupt: the
   * datagram leaves `pending` only there.
   */
  receive<A>(shape: (payload: Uint8Array, sender: Buffer | null) => A): Effect.Effect<A, DatagramReceiveError> {
    const loop: Effect.Effect<A, DatagramReceiveError> = Effect.withFiberRuntime(
      (fiber): Effect.Effect<A, DatagramReceiveError> => {
        if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
        if (this.watcher.readerBusy(fiber)) return Effect.fail(new BusyResourceError({ operation: "reading from" }))
        if (this.pending === undefined) {
          let outcome: "ready" | "wait"
          try {
            outcome = this.fill()
          } catch (cause) {
            return Effect.fail(broken("receive", cause))
          }
          if (outcome === "wait") return waitThenLoop
        }
        return Effect.sync(() => {
          const [payload, sender] = this.pending!
          this.pending = undefined
          return shape(payload, sender)
        })
      }
    )
    const waitThenLoop = Effect.zipRight(this.watcher.waitReadable, loop)
    return loop
  }

  /** Sends one datagram; a failure belongs to this datagram only. */
  send(payload: Uint8Array | string, path: Buffer | null): Effect.Effect<void, DatagramSendError> {
    const bytes = toBytes(payload)
    const attempt: Effect.Effect<void, DatagramSendError> = Effect.suspend(() => {
      if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "send" }))
      try {
        const n = path === null
          ? this.addon.send(this.fd, bytes, 0, bytes.length)
          : this.addon.sendmsg(this.fd, bytes, 0, bytes.length, [], path)
        return n === WOULD_BLOCK ? Effect.zipRight(Effect.sleep(FULL_QUEUE_RETRY), attempt) : Effect.void
      } catch (cause) {
        return Effect.fail(new BrokenResourceError({ reason: reasonOf(cause), operation: "send", cause }))
      }
    })
    return attempt
  }

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.closed) return
    this.closed = true
    this.watcher.close()
    this.addon.close(this.fd)
  })
}

const senderOf = (address: Buffer | null): UnixSender => (address === null ? null : toUnixAddress(address).path || null)

/** Creates the fd and binds it as asked; the returned core owns the fd. */
const open = (
  operation: string,
  options: UnixDatagramOptions
): Effect.Effect<DatagramCore, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const addon = yield* loadAddon(operation)
    const maxDatagramSize = options.maxDatagramSize ?? 65536
    yield* checkPositiveInt(maxDatagramSize, "maxDatagramSize")
    if (maxDatagramSize > MAX_DATAGRAM_SIZE) {
      return yield* Effect.fail(
        new InvalidArgumentError({ argument: "maxDatagramSize", why: `must be at most ${MAX_DATAGRAM_SIZE} bytes` })
      )
    }
    const local = options.localPath === undefined ? undefined : yield* toPathBytes(options.localPath, "localPath")
    if (local) yield* clearStale(local, isLive(addon))
    return yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const fd = addon.socket("dgram")
          try {
            if (local) {
              addon.bind(fd, local)
              if (options.localMode !== undefined && !isAbstract(local)) fs.chmodSync(local, options.localMode)
            } else if (options.autobind) {
              addon.bind(fd, Buffer.alloc(0))
            }
            // Last: the core owns the fd (and its poller) from here on.
            return new DatagramCore(addon, fd, maxDatagramSize)
          } catch (cause) {
            addon.close(fd)
            throw cause
          }
        },
        catch: (cause) =>
          new ListenError({ reason: reasonOf(cause), address: local ? describePath(local) : "(unnamed)", cause })
      }),
      (core) => core.close
    )
  })

const localAddressOf = (core: DatagramCore): UnixAddress => toUnixAddress(core.addon.getsockname(core.fd))

/**
 * A UNIX datagram socket, bound to `localPath` if given (or autobound). `receive` gives each
 * datagram with its sender's path (`null` for an unbound sender). Needs the native addon; without
 * it this fails with `UnsupportedError`. The socket is closed when the scope closes.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createUnixDatagramSocket = (
  options: UnixDatagramOptions = {}
): Effect.Effect<UnixDatagramSocket, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.map(open("createUnixDatagramSocket", options), (core) => {
    // A server mostly answers the peer it last heard from: the last sender's path and the last
    // destination are remembered instead of converted again per datagram (strings only, which
    // nobody can change under us).
    let lastSender: readonly [Buffer, string] | undefined
    const senderText = (address: Buffer | null): UnixSender => {
      if (address !== null && lastSender !== undefined && lastSender[0].equals(address)) return lastSender[1]
      const sender = senderOf(address)
      if (address !== null && typeof sender === "string") lastSender = [address, sender]
      return sender
    }
    let lastDestination: readonly [string, Buffer] | undefined
    const receive = core.receive((payload, sender) => [payload, senderText(sender)] as const)
    return {
      attributes: { family: "unix" as const, localAddress: localAddressOf(core) },
      receive,
      sendto: (payload, path) =>
        typeof path === "string" && path === lastDestination?.[0]
          ? core.send(payload, lastDestination[1])
          : Effect.flatMap(toPathBytes(path), (bytes) => {
            if (typeof path === "string") lastDestination = [path, bytes]
            return core.send(payload, bytes)
          }),
      stream: untilClosed(receive),
      close: core.close
    }
  })

/**
 * A UNIX datagram socket connected to `remotePath`: `send` needs no path and only that peer's
 * datagrams are received. A missing or refusing peer fails with `ConnectError`.
 *
 * @since 0.1.0
 * @category constructors
 */
export const createConnectedUnixDatagramSocket = (
  remotePath: string | Uint8Array,
  options: UnixDatagramOptions = {}
): Effect.Effect<
  ConnectedUnixDatagramSocket,
  ConnectError | ListenError | InvalidArgumentError | UnsupportedError,
  Scope.Scope
> =>
  Effect.gen(function*() {
    const remote = yield* toPathBytes(remotePath, "remotePath")
    const core = yield* open("createConnectedUnixDatagramSocket", options)
    yield* Effect.try({
      try: () => void core.addon.connect(core.fd, remote),
      catch: (cause) => {
        const host = describePath(remote)
        return new ConnectError({
          host,
          port: 0,
          reason: reasonOf(cause),
          attempts: [{ host, port: 0, reason: reasonOf(cause), cause }]
        })
      }
    })
    const receive = core.receive((payload) => payload)
    return {
      attributes: { family: "unix" as const, localAddress: localAddressOf(core), remoteAddress: toUnixAddress(remote) },
      receive,
      send: (payload: Uint8Array | string) => core.send(payload, null),
      stream: untilClosed(receive),
      close: core.close
    }
  })
