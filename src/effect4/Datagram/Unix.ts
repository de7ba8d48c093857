/**
 * UNIX datagram sockets, unconnected and connected, through the native addon (Node has none).
 * The Effect 4 edition of `effect-sockets/Datagram`'s UNIX half, on the same driver.
 *
 * @since 0.2.0
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { UnixAddress } from "../ByteStream.js"
import { toBytes } from "../internal/byteStream.js"
import { untilClosed } from "../internal/datagram.js"
import { connectFailed } from "../internal/errors.js"
import { type DatagramCore, open } from "../internal/unixDatagram.js"
import { describePath, toPathBytes, toUnixAddress } from "../internal/unixPath.js"
import { type ConnectError, InvalidArgumentError, type ListenError, type UnsupportedError } from "../NetError.js"
import type { ConnectedDatagramSocket, DatagramSocket } from "./DatagramSocket.js"

/**
 * A sender's address: its path (a string; bytes for an abstract or non-UTF-8 name), or `null`
 * for an unbound sender.
 *
 * @since 0.2.0
 * @category models
 */
export type UnixSender = string | Uint8Array | null

/**
 * Options of the UNIX datagram constructors.
 *
 * @since 0.2.0
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
 * @since 0.2.0
 * @category models
 */
export interface UnixDatagramSocket extends DatagramSocket<UnixSender, [path: string | Uint8Array]> {
  readonly attributes: { readonly family: "unix"; readonly localAddress: UnixAddress }
}

/**
 * A UNIX datagram socket connected to one path.
 *
 * @since 0.2.0
 * @category models
 */
export interface ConnectedUnixDatagramSocket extends ConnectedDatagramSocket {
  readonly attributes: {
    readonly family: "unix"
    readonly localAddress: UnixAddress
    readonly remoteAddress: UnixAddress
  }
}

const senderOf = (address: Buffer | null): UnixSender => (address === null ? null : toUnixAddress(address).path || null)

const localAddressOf = (core: DatagramCore): UnixAddress => toUnixAddress(core.driver.localPath())

/**
 * A UNIX datagram socket, bound to `localPath` if given (or autobound). `receive` gives each
 * datagram with its sender's path (`null` for an unbound sender). Needs the native addon; without
 * it this fails with `UnsupportedError`. The socket is closed when the scope closes.
 *
 * @since 0.2.0
 * @category constructors
 */
export const createUnixDatagramSocket = (
  options: UnixDatagramOptions = {}
): Effect.Effect<UnixDatagramSocket, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.map(open("createUnixDatagramSocket", options), unconnectedOn)

/** @internal The unconnected socket over a core. */
export const unconnectedOn = (core: DatagramCore): UnixDatagramSocket => {
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
  const shape = (payload: Uint8Array, sender: Buffer | null) => [payload, senderText(sender)] as const
  return {
    attributes: { family: "unix" as const, localAddress: localAddressOf(core) },
    receive: core.receive(shape),
    sendto: (payload, path) => {
      const bytes = toBytes(payload, "payload")
      if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
      return typeof path === "string" && path === lastDestination?.[0]
        ? core.send(bytes, lastDestination[1])
        : Effect.flatMap(toPathBytes(path), (pathBytes) => {
          if (typeof path === "string") lastDestination = [path, pathBytes]
          return core.send(bytes, pathBytes)
        })
    },
    stream: untilClosed(core.receiveBatch(shape)),
    close: core.close
  }
}

/**
 * A UNIX datagram socket connected to `remotePath`: `send` needs no path and only that peer's
 * datagrams are received. A missing or refusing peer fails with `ConnectError`.
 *
 * @since 0.2.0
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
      try: () => core.driver.connect(remote),
      catch: (cause) => connectFailed(describePath(remote), 0, cause)
    })
    return connectedOn(core, remote)
  })

/** @internal The connected socket over a core whose fd is connected to `remote`. */
export const connectedOn = (core: DatagramCore, remote: Uint8Array | null): ConnectedUnixDatagramSocket => {
  const shape = (payload: Uint8Array) => payload
  return {
    attributes: { family: "unix" as const, localAddress: localAddressOf(core), remoteAddress: toUnixAddress(remote) },
    receive: core.receive(shape),
    send: (payload: Uint8Array | string) => {
      const bytes = toBytes(payload, "payload")
      return bytes instanceof InvalidArgumentError ? Effect.fail(bytes) : core.send(bytes, null)
    },
    stream: untilClosed(core.receiveBatch(shape)),
    close: core.close
  }
}
