/**
 * @internal
 * Driver: a UNIX datagram socket owned by the addon (Node has none). Effect-free: one datagram
 * in or out per call; waiting for readiness belongs to the caller.
 */
import { type Addon, WOULD_BLOCK } from "./addon.js"
import type { FdPoller } from "./fdPoller.js"
import { chmod, probeBound, type ProbeResult } from "./unixPath.js"

/**
 * @internal
 * Is a socket bound at this path? A datagram connect that succeeds says a datagram socket is;
 * EPERM says one is, connected to another peer; EPROTOTYPE says a stream socket is; only
 * ECONNREFUSED says nobody is.
 */
export const probe = (addon: Addon, path: Buffer): ProbeResult => probeBound(addon, "dgram", path)

/**
 * @internal
 * A new datagram socket, bound to `local` if given (its file then gets `mode`), else autobound
 * to a unique abstract name when asked. On failure the fd is closed and the error thrown.
 */
export const open = (
  addon: Addon,
  local: Buffer | undefined,
  options: { readonly mode?: number | undefined; readonly autobind?: boolean | undefined }
): number => {
  const fd = addon.socket("dgram")
  try {
    if (local) {
      addon.bind(fd, local)
      if (options.mode !== undefined && local[0] !== 0) chmod(local, options.mode)
    } else if (options.autobind) {
      addon.bind(fd, Buffer.alloc(0))
    }
    return fd
  } catch (cause) {
    addon.close(fd)
    throw cause
  }
}

/** @internal */
export class UnixDatagramDriver {
  closed = false
  /** The datagram read but not yet taken, with its sender's path (null: unnamed sender). */
  pending: readonly [Uint8Array, Buffer | null] | undefined = undefined
  private readonly buffer: Buffer

  constructor(readonly addon: Addon, readonly fd: number, private readonly poller: FdPoller, maxDatagramSize: number) {
    this.buffer = Buffer.allocUnsafe(maxDatagramSize)
  }

  /** Reads one datagram into `pending`; false when there is none yet. Throws on error or truncation. */
  fill(): boolean {
    if (!this.poller.maybeReadable) return false
    const result = this.addon.recvmsg(this.fd, this.buffer, 0, this.buffer.length, 0)
    if (result === null) return false
    if (result.truncated) {
      throw Object.assign(
        new Error(`a datagram longer than ${this.buffer.length} bytes was received and dropped`),
        { code: "EMSGSIZE" }
      )
    }
    this.pending = [Buffer.from(this.buffer.subarray(0, result.bytes)), result.address]
    return true
  }

  /** Sends one datagram (to `path`, or to the connected peer when null); false when the peer's queue is full. */
  send(bytes: Uint8Array, path: Buffer | null): boolean {
    const n = path === null
      ? this.addon.send(this.fd, bytes, 0, bytes.length)
      : this.addon.sendmsg(this.fd, bytes, 0, bytes.length, [], path)
    return n !== WOULD_BLOCK
  }

  connect(path: Buffer): void {
    this.addon.connect(this.fd, path)
  }

  localPath(): Buffer {
    return this.addon.getsockname(this.fd)
  }

  /** Closes the fd. Close the poller first. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.addon.close(this.fd)
  }
}
