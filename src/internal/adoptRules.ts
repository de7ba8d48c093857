/**
 * @internal
 * Adoption rules both editions share, as plain data (Effect-free): what an fd must be before
 * anything takes it over (a socket of a family we speak, of the right type and state), in
 * AnyIO's words, and which fds socket activation hands to listeners or to datagram sockets.
 * Each edition turns an `Invalid` into its `InvalidArgumentError`, an `Unsupported` into its
 * `UnsupportedError`.
 */
import type * as net from "node:net"
import { type Invalid, show, type Unsupported } from "./argumentRules.js"
import type { Addon } from "./driver/addon.js"
import * as driver from "./driver/adopt.js"
import { handleFd } from "./driver/tcp.js"
import { isFdNumber } from "./fdRules.js"

/** @internal */
export type SocketInfo = driver.SocketInfo

/** @internal What the caller wants the fd to be. */
export type AdoptedKind = "connected stream" | "listening stream" | "datagram"

const invalidFd = (why: string): Invalid => ({ argument: "fd", why })

const messageOf = (cause: unknown): string => (cause instanceof Error ? cause.message : String(cause))

/** @internal Taking the fd over (non-blocking mode, Node's wrapper) failed. */
export const cannotAdopt = (cause: unknown): Invalid => invalidFd(`cannot adopt it: ${messageOf(cause)}`)

/** @internal Not an fd number, checked before anything (the addon included) is loaded. */
export const invalidFdNumber = (fd: unknown): Invalid | undefined =>
  isFdNumber(fd) ? undefined : invalidFd(`expected a file descriptor (a non-negative integer), got ${show(fd)}`)

/** @internal Whether a rule's answer is the complaint (an `Invalid`) rather than the value. */
export const isInvalid = (value: object): value is Invalid => "argument" in value && "why" in value

/** @internal What the open fd is, or why no socket can be adopted from it (closed, a file, another family). */
export const inspectOrInvalid = (addon: Addon, fd: number): SocketInfo | Invalid => {
  let info: ReturnType<typeof driver.inspect>
  try {
    info = driver.inspect(addon, fd)
  } catch (cause) {
    return invalidFd(`cannot inspect it: ${messageOf(cause)}`)
  }
  if (info === "invalid") return invalidFd(`${fd} is not an open file descriptor`)
  if (typeof info === "string") return invalidFd("the file descriptor does not refer to a socket")
  if (info.domain === "other") return invalidFd("address family not supported: expected AF_UNIX, AF_INET or AF_INET6")
  return info
}

const typeName = (type: SocketInfo["type"]) =>
  type === "stream" ? "SOCK_STREAM" : type === "dgram" ? "SOCK_DGRAM" : "another type"

/** @internal Why a socket cannot be adopted as `kind` (its type, then its state), undefined when it can. */
export const invalidFor = (info: SocketInfo, kind: AdoptedKind): Invalid | undefined => {
  const type = kind === "datagram" ? "dgram" : "stream"
  if (info.type !== type) {
    return invalidFd(`socket type mismatch: expected ${typeName(type)}, got ${typeName(info.type)}`)
  }
  if (kind === "connected stream") {
    if (info.listening) return invalidFd("the socket must be connected (it is listening)")
    if (!info.connected) return invalidFd("the socket must be connected")
  }
  if (kind === "listening stream" && !info.listening) return invalidFd("the socket must be bound and listening")
  return undefined
}

/**
 * @internal
 * A connected UDP fd cannot be adopted: Node's dgram adopts an fd only through `bind({ fd })`,
 * which leaves it believing the socket unconnected (its `send` then demands an address and
 * `remoteAddress()` throws), and it cannot be told the peer without reading the peer's inet
 * address, which nothing here can.
 */
export const unsupportedDatagram = (info: SocketInfo, operation: string): Unsupported | undefined =>
  info.domain !== "unix" && info.connected
    ? {
      operation,
      why: "adopting a connected UDP socket: Node's dgram takes an fd only through bind({ fd }), which " +
        "treats it as unconnected (send needs an address, remoteAddress() throws)"
    }
    : undefined

/** @internal A `net.Socket` that is not connected (pending, connecting, destroyed) or neither TCP nor UNIX. */
export const unusableNetSocket: Invalid = {
  argument: "socket",
  why: "the socket must be a connected TCP or UNIX net.Socket"
}

/** @internal Why an adopted UNIX `net.Socket` cannot pass fds. */
export const NET_SOCKET_FDS_WHY = "the stream was adopted from a net.Socket, which libuv reads with read(): " +
  "passed fds would be discarded (adopt the fd with Socket.fromFd instead)"

/** @internal A UNIX `net.Socket`'s own and peer paths, read with the addon when there is one (else unknown). */
export const netSocketNames = (
  addon: Addon | undefined,
  socket: net.Socket
): { readonly local: Buffer | null; readonly remote: Buffer | null } => {
  const fd = handleFd(socket)
  return addon !== undefined && fd !== undefined ? driver.unixNames(addon, fd) : { local: null, remote: null }
}

/**
 * @internal
 * The passed fds (socket activation) that are ours to adopt as `kind`: sockets of that type (a
 * stream one only when listening). Anything else (a FIFO from `ListenFIFO=`, a closed fd, the
 * other type) is left for someone else.
 */
export const activatedOfKind = (
  addon: Addon,
  fds: ReadonlyArray<number>,
  kind: "listening stream" | "datagram"
): Array<number> =>
  fds.filter((fd) => {
    const info = inspectOrInvalid(addon, fd)
    return !isInvalid(info) && (kind === "datagram" ? info.type === "dgram" : info.type === "stream" && info.listening)
  })
