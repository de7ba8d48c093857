/**
 * @internal
 * Driver: TCP over `node:net`: one connection attempt, one bound `net.Server`, the addresses of
 * a connected socket. Effect-free; happy eyeballs and dual-stack policy live in the public
 * modules (`src/Socket/Tcp.ts`, `src/Listener/Tcp.ts`).
 */
import * as net from "node:net"
import type { InetAddress } from "../../ByteStream.js"
import { load as loadAddon } from "./addon.js"

/**
 * @internal
 * How much Node may read ahead of `receive` per socket. libuv reads up to 64 KiB at a time, and
 * several times per wake-up; a mark above that keeps Node from stopping and restarting reads
 * (two syscalls each) on every bulk chunk, while still bounding what an unread socket holds.
 */
export const READ_HIGH_WATER_MARK = 256 * 1024

/** @internal */
export interface InetAttributes {
  readonly family: "IPv4" | "IPv6"
  readonly localAddress: InetAddress
  readonly remoteAddress: InetAddress
  readonly [key: string]: unknown
}

/** @internal */
export interface AttemptOptions {
  readonly host: string
  readonly port: number
  readonly localAddress?: string | undefined
  readonly localPort?: number | undefined
  readonly noDelay: boolean
  /** Applied once connected; a failure fails the attempt. */
  readonly socketOptions?: TcpSocketOptions | undefined
}

/**
 * @internal
 * Starts one connection attempt to an IP address; `callback` gets the connected socket or the
 * error (the socket then destroyed). Returns a cancel function that destroys the socket.
 */
export const connect = (
  options: AttemptOptions,
  callback: (error: Error | null, socket: net.Socket | undefined) => void
): () => void => {
  // `readableHighWaterMark` reaches the Duplex underneath; @types/node does not list it here.
  const socket = net.connect({
    host: options.host,
    port: options.port,
    ...(options.localAddress !== undefined ? { localAddress: options.localAddress } : {}),
    ...(options.localPort !== undefined ? { localPort: options.localPort } : {}),
    noDelay: options.noDelay,
    allowHalfOpen: true,
    readableHighWaterMark: READ_HIGH_WATER_MARK
  } as net.NetConnectOpts)
  const onError = (cause: Error) => {
    socket.destroy()
    callback(cause, undefined)
  }
  socket.once("error", onError)
  socket.once("connect", () => {
    socket.off("error", onError)
    const failed = options.socketOptions === undefined ? undefined : applySocketOptions(socket, options.socketOptions)
    if (failed) {
      socket.destroy()
      callback(failed, undefined)
    } else {
      callback(null, socket)
    }
  })
  return () => socket.destroy()
}

/** @internal The addresses of a connected socket, read once (Node forgets them on close). */
export const inetAttributes = (socket: net.Socket): InetAttributes => {
  const local = socket.address() as net.AddressInfo
  return {
    family: net.isIPv6(local.address) ? "IPv6" : "IPv4",
    localAddress: { _tag: "InetAddress", host: local.address, port: local.port },
    remoteAddress: { _tag: "InetAddress", host: socket.remoteAddress ?? "", port: socket.remotePort ?? 0 }
  }
}

/** @internal */
export interface BindOptions {
  readonly host: string
  readonly port: number
  readonly ipv6Only: boolean
  readonly backlog: number
  readonly reusePort: boolean
}

/**
 * @internal
 * A `net.Server` bound and listening on one address. Accepted sockets start paused (nothing is
 * read until someone receives), half-open capable and with TCP_NODELAY. Returns a cancel
 * function that closes the server.
 */
export const listen = (
  options: BindOptions,
  callback: (error: Error | null, server: net.Server | undefined) => void
): () => void => {
  const server = createServer()
  const onError = (error: Error) => {
    server.close()
    callback(error, undefined)
  }
  server.once("error", onError)
  server.listen(
    {
      host: options.host,
      port: options.port,
      ipv6Only: options.ipv6Only,
      backlog: options.backlog,
      ...(options.reusePort ? { reusePort: true } : {})
    },
    () => {
      server.off("error", onError)
      callback(null, server)
    }
  )
  return () => server.close()
}

/**
 * @internal
 * A `net.Server` as our listeners use it: accepted sockets start paused (nothing is read until
 * someone receives), half-open capable, with TCP_NODELAY and our read-ahead mark.
 */
export const createServer = (): net.Server =>
  net.createServer({
    allowHalfOpen: true,
    pauseOnConnect: true,
    noDelay: true,
    highWaterMark: READ_HIGH_WATER_MARK
  })

/** @internal The address a listening TCP server is bound to. */
export const serverAddress = (server: net.Server): InetAddress => {
  const address = server.address() as net.AddressInfo
  return { _tag: "InetAddress", host: address.address, port: address.port }
}

/** @internal Whether this Node's `listen` and `dgram` honour `reusePort` (22.12+, 23.1+). */
export const supportsReusePort = (): boolean => {
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number)
  return major > 23 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12)
}

/**
 * @internal
 * Socket options of a TCP stream, already validated. `keepAlive`: off, on with the system's
 * idle time, or on after that many whole seconds idle (TCP_KEEPIDLE). Buffer sizes are what is
 * asked of SO_RCVBUF/SO_SNDBUF (Linux reports twice that back).
 */
export interface TcpSocketOptions {
  readonly noDelay?: boolean | undefined
  readonly keepAlive?: boolean | number | undefined
  readonly receiveBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/** @internal The fd under a `net.Socket`/`net.Server` handle, if it has one (libuv's, on Unix). */
export const handleFd = (handle: net.Socket | net.Server): number | undefined => {
  const fd = (handle as unknown as { _handle?: { fd?: unknown } | null })._handle?.fd
  return typeof fd === "number" && fd >= 0 ? fd : undefined
}

/**
 * @internal
 * Applies `options` to a connected socket. Node has no setter for the buffer sizes: they are
 * set with setsockopt on the socket's own fd through the addon (the caller checked that it
 * loads). Returns the first error, or undefined.
 */
export const applySocketOptions = (socket: net.Socket, options: TcpSocketOptions): Error | undefined => {
  try {
    if (options.noDelay !== undefined) socket.setNoDelay(options.noDelay)
    if (options.keepAlive !== undefined) {
      if (options.keepAlive === false) socket.setKeepAlive(false)
      else socket.setKeepAlive(true, options.keepAlive === true ? 0 : options.keepAlive * 1000)
    }
    if (options.receiveBufferSize !== undefined || options.sendBufferSize !== undefined) {
      const fd = handleFd(socket)
      if (fd === undefined) return new Error("the socket has no file descriptor (it is closed)")
      const addon = loadAddon()
      const { SOL_SOCKET, SO_RCVBUF, SO_SNDBUF } = addon.constants
      if (options.receiveBufferSize !== undefined) {
        addon.setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, options.receiveBufferSize)
      }
      if (options.sendBufferSize !== undefined) addon.setsockoptInt(fd, SOL_SOCKET, SO_SNDBUF, options.sendBufferSize)
    }
    return undefined
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error))
  }
}
