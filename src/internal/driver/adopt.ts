/**
 * @internal
 * Driver: adopting sockets made elsewhere (an fd, a `net.Socket`). What an fd is (fstat,
 * SO_TYPE, SO_DOMAIN, SO_ACCEPTCONN, getpeername) through the addon, and the `node:net` /
 * `node:dgram` objects that take an fd over. Effect-free; the checks' policy is the caller's.
 */
import * as net from "node:net"
import { type Addon, type FdType, isAddonSystemError } from "./addon.js"
import { createServer, READ_HIGH_WATER_MARK } from "./tcp.js"

/** @internal What a socket fd is. */
export interface SocketInfo {
  readonly domain: "unix" | "inet" | "inet6" | "other"
  readonly type: "stream" | "dgram" | "other"
  /** SO_ACCEPTCONN: listen() was called on it. */
  readonly listening: boolean
  /** getpeername succeeds: connected (a stream), or connected to a peer (a datagram socket). */
  readonly connected: boolean
}

const familyOf = (addon: Addon, fd: number): SocketInfo["domain"] => {
  const { AF_INET, AF_INET6, AF_UNIX, SOL_SOCKET, SO_DOMAIN } = addon.constants
  if (SO_DOMAIN < 0) return "other"
  const domain = addon.getsockoptInt(fd, SOL_SOCKET, SO_DOMAIN)
  return domain === AF_UNIX ? "unix" : domain === AF_INET ? "inet" : domain === AF_INET6 ? "inet6" : "other"
}

/** @internal fstat's verdict, and for a socket what kind it is. Throws only on unexpected errors. */
export const inspect = (addon: Addon, fd: number): Exclude<FdType, "socket"> | SocketInfo => {
  const kind = addon.fdType(fd)
  if (kind !== "socket") return kind
  const { SOCK_DGRAM, SOCK_STREAM, SOL_SOCKET, SO_ACCEPTCONN, SO_TYPE } = addon.constants
  const type = addon.getsockoptInt(fd, SOL_SOCKET, SO_TYPE)
  const domain = familyOf(addon, fd)
  let connected = true
  try {
    // The addon reads the peer as a sockaddr_un; for other families only success matters here.
    addon.getpeername(fd)
  } catch (error) {
    if (!isAddonSystemError(error) || error.code !== "ENOTCONN") throw error
    connected = false
  }
  return {
    domain,
    type: type === SOCK_STREAM ? "stream" : type === SOCK_DGRAM ? "dgram" : "other",
    listening: addon.getsockoptInt(fd, SOL_SOCKET, SO_ACCEPTCONN) === 1,
    connected
  }
}

/**
 * @internal
 * A `net.Socket` over a connected stream fd (TCP or UNIX), paused until someone receives, like an
 * accepted one. Node (libuv) makes the fd non-blocking and closes it when the socket is destroyed.
 */
export const netSocketFromFd = (fd: number): net.Socket =>
  new net.Socket({
    fd,
    readable: true,
    writable: true,
    allowHalfOpen: true,
    pauseOnCreate: true,
    readableHighWaterMark: READ_HIGH_WATER_MARK
  } as net.SocketConstructorOpts)

/** @internal Node's view of a `net.Socket`: a connected TCP or UNIX socket, or neither. */
export const netSocketKind = (socket: net.Socket): "tcp" | "unix" | "unusable" => {
  if (socket.destroyed || socket.connecting || socket.pending) return "unusable"
  const handle = (socket as unknown as { _handle?: { constructor?: { name?: string } } | null })._handle
  const name = handle?.constructor?.name
  return name === "TCP" ? "tcp" : name === "Pipe" ? "unix" : "unusable"
}

/**
 * @internal
 * A `net.Server` over an fd already listening (TCP or UNIX), accepted sockets paused as ours
 * are. Node closes the fd with the server.
 */
export const netServerFromFd = (
  fd: number,
  backlog: number,
  callback: (error: Error | null, server: net.Server | undefined) => void
): void => {
  const server = createServer()
  const onError = (error: Error) => {
    server.close()
    callback(error, undefined)
  }
  server.once("error", onError)
  try {
    server.listen({ fd, backlog }, () => {
      server.off("error", onError)
      callback(null, server)
    })
  } catch (error) {
    callback(error instanceof Error ? error : new Error(String(error)), undefined)
  }
}

/** @internal A UNIX socket's own and peer paths (raw bytes), null where the kernel has none. */
export const unixNames = (addon: Addon, fd: number): { local: Buffer | null; remote: Buffer | null } => {
  const safely = (read: () => Buffer) => {
    try {
      return read()
    } catch {
      return null
    }
  }
  return { local: safely(() => addon.getsockname(fd)), remote: safely(() => addon.getpeername(fd)) }
}
