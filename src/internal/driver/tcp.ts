/**
 * @internal
 * Driver: TCP over `node:net`: one connection attempt, one bound `net.Server`, the addresses of
 * a connected socket. Effect-free; happy eyeballs and dual-stack policy live in the public
 * modules (`src/Socket/Tcp.ts`, `src/Listener/Tcp.ts`).
 */
import * as net from "node:net"
import type { InetAddress } from "../../ByteStream.js"

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
    callback(null, socket)
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
  const server = net.createServer({
    allowHalfOpen: true,
    pauseOnConnect: true,
    noDelay: true,
    highWaterMark: READ_HIGH_WATER_MARK
  })
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
