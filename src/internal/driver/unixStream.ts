/**
 * @internal
 * Driver: connecting and listening on UNIX stream sockets, with the addon (fd passing) or with
 * `node:net` (the fallback where the addon cannot load). Effect-free: every call is synchronous
 * or reports through a callback; waiting and retrying belong to the caller.
 */
import * as net from "node:net"
import { type Addon, WOULD_BLOCK } from "./addon.js"
import { chmod, probeBound, type ProbeResult, probeResultOf } from "./unixPath.js"

const isAbstract = (path: Uint8Array): boolean => path.length > 0 && path[0] === 0

/** @internal What a non-blocking connect did: connected, in progress (wait for writability), or retry later. */
export type ConnectStart = "connected" | "pending" | "retry"

/** @internal A new non-blocking, close-on-exec AF_UNIX stream socket. */
export const open = (addon: Addon): number => addon.socket("stream")

/**
 * @internal
 * Starts connecting `fd` to `path`. "retry": a Linux listener's backlog is full (EAGAIN): the
 * socket stays unconnected, try again later. Any other failure throws.
 */
export const startConnect = (addon: Addon, fd: number, path: Uint8Array): ConnectStart => {
  try {
    return addon.connect(fd, path) ? "connected" : "pending"
  } catch (cause) {
    if ((cause as { code?: string }).code === "EAGAIN") return "retry"
    throw cause
  }
}

/** @internal After a pending connect polled writable: throws the connect's error, if any. */
export const finishConnect = (addon: Addon, fd: number): void => void addon.socketError(fd)

/** @internal close(2). */
export const close = (addon: Addon, fd: number): void => addon.close(fd)

/**
 * @internal
 * A listening socket bound at `path`. `mode` is set between bind and listen: a bound socket that
 * is not listening refuses connections, so there is no window with other bits. On failure the
 * fd is closed and the error thrown.
 */
export const listen = (addon: Addon, path: Uint8Array, mode: number | undefined, backlog: number): number => {
  const fd = addon.socket("stream")
  try {
    addon.bind(fd, path)
    if (mode !== undefined && !isAbstract(path)) chmod(Buffer.from(path), mode)
    addon.listen(fd, backlog)
    return fd
  } catch (cause) {
    addon.close(fd)
    throw cause
  }
}

/** @internal accept4: the new fd, or undefined when no connection waits. Throws accept's error. */
export const accept = (addon: Addon, fd: number): number | undefined => {
  const client = addon.accept(fd)
  return client === WOULD_BLOCK ? undefined : client
}

/**
 * @internal
 * Is a socket bound at this socket file? With the addon (the path's raw bytes): a connect that
 * succeeds, is in progress or finds the backlog full says a stream listener is; EPROTOTYPE says
 * a datagram socket is; only ECONNREFUSED says nobody is.
 */
export const probe = (addon: Addon, path: Uint8Array): ProbeResult => probeBound(addon, "stream", path)

/** @internal Whether `node:net` can name this path (it takes strings: the bytes must be UTF-8). */
export const netCanName = (path: Uint8Array): boolean =>
  Buffer.from(Buffer.from(path).toString("utf8"), "utf8").equals(Buffer.from(path))

/** @internal The probe without the addon, through `node:net` (only for paths it can name). */
export const probeNet = (path: Buffer, callback: (result: ProbeResult) => void): void => {
  if (!netCanName(path)) {
    callback({ error: new Error("node:net cannot name a path that is not UTF-8 (the native addon can)") })
    return
  }
  const socket = net.connect({ path: path.toString("utf8") })
  socket.once("connect", () => {
    socket.destroy()
    callback("live")
  })
  socket.once("error", (error) => {
    socket.destroy()
    callback(probeResultOf(error))
  })
}

/** @internal The node:net fallback: connects to `path`; returns a cancel function. */
export const connectNet = (
  path: Buffer,
  callback: (error: Error | null, socket: net.Socket | undefined) => void
): () => void => {
  const socket = net.connect({ path: path.toString("utf8"), allowHalfOpen: true })
  socket.once("error", (cause) => {
    socket.destroy()
    callback(cause, undefined)
  })
  socket.once("connect", () => {
    socket.removeAllListeners("error")
    callback(null, socket)
  })
  return () => socket.destroy()
}

/** @internal The node:net fallback: a `net.Server` listening at `path`; accepted sockets start paused. */
export const listenNet = (
  path: Buffer,
  backlog: number,
  callback: (error: Error | null, server: net.Server | undefined) => void
): void => {
  const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true })
  server.once("error", (cause) => callback(cause, undefined))
  server.listen({ path: path.toString("utf8"), backlog }, () => {
    server.removeAllListeners("error")
    callback(null, server)
  })
}
