/**
 * @internal
 * Driver: a connected UNIX stream socket owned end to end by the addon: non-blocking syscalls
 * and SCM_RIGHTS fd passing (which a `node:net` socket cannot do: libuv reads with plain read(),
 * and the kernel discards the fds). Effect-free.
 *
 * Received bytes and fds go to `pending` first and are taken by the owner in a separate step,
 * so a reader that gives up leaves them for the next one; fds nobody takes are closed on close.
 */
import { type Addon, type PeerCredentialsResult, WOULD_BLOCK } from "./addon.js"
import type { FdPoller } from "./fdPoller.js"

/**
 * One scratch buffer for every socket: syscalls are synchronous, so it is never shared in flight.
 * A read takes at most its size (a receive may return fewer bytes than asked for), so a huge
 * `maxBytes` never becomes a huge allocation.
 */
const scratch = Buffer.allocUnsafe(65536)
const readSize = (length: number) => Math.min(length, scratch.length)

/** @internal What a read found: something pending now, the peer's EOF, or nothing yet. */
export type Fill = "data" | "eof" | "wait"

/** @internal More fds were sent than `maxfds` allowed: the kernel dropped some, we closed the rest. */
export class FdsTruncated extends Error {
  readonly code = "EMSGSIZE"
  constructor(maxfds: number) {
    super(
      `more than ${maxfds} file descriptors were sent; the kernel dropped the extra ones and the ones that arrived ` +
        "were closed"
    )
  }
}

/** @internal A batch receive's bytes, and what a later recv met: the peer's EOF, or an error. */
export interface BatchRead {
  readonly chunks: readonly [Uint8Array, ...Array<Uint8Array>]
  readonly bytes: number
  readonly eof: boolean
  readonly error: unknown
}

const concat = (a: Uint8Array, b: Uint8Array): Uint8Array => (a.length === 0 ? b : Buffer.concat([a, b]))

/** @internal */
export class AddonStreamDriver {
  pending: Uint8Array = new Uint8Array(0)
  private pendingFds: Array<number> = []
  closed = false

  constructor(readonly addon: Addon, readonly fd: number, private readonly poller: FdPoller) {}

  /** One recv of at most `maxBytes` into `pending` (empty before). Throws the syscall's error. */
  fill(maxBytes: number): Fill {
    if (!this.poller.maybeReadable) return "wait"
    const size = readSize(maxBytes)
    const n = this.addon.recv(this.fd, scratch, 0, size)
    if (n === WOULD_BLOCK) return "wait"
    if (n === 0) return "eof"
    if (n < size) this.poller.drained()
    this.pending = Buffer.from(scratch.subarray(0, n))
    return "data"
  }

  /**
   * One recvmsg of at most `msglen` bytes and `maxfds` fds. On MSG_CTRUNC the fds that arrived
   * are closed and `FdsTruncated` thrown, but the message's bytes stay in `pending` for the next
   * receive.
   */
  fillWithFds(msglen: number, maxfds: number): Fill {
    if (!this.poller.maybeReadable) return "wait"
    const result = this.addon.recvmsg(this.fd, scratch, 0, readSize(msglen), maxfds)
    if (result === null) return "wait"
    if (result.controlTruncated) {
      for (const fd of result.fds) this.addon.close(fd)
      this.pending = concat(this.pending, Buffer.from(scratch.subarray(0, result.bytes)))
      throw new FdsTruncated(maxfds)
    }
    if (result.bytes === 0 && result.fds.length === 0) return "eof"
    this.pending = concat(this.pending, Buffer.from(scratch.subarray(0, result.bytes)))
    this.pendingFds.push(...result.fds)
    return "data"
  }

  takeBytes(maxBytes: number): Uint8Array {
    const out = this.pending.length <= maxBytes ? this.pending : this.pending.subarray(0, maxBytes)
    this.pending = this.pending.subarray(out.length)
    return out
  }

  /**
   * Every byte the socket has, for a batch receive (call it when `fill` found data): what
   * `pending` holds, then more recvs in the same step until the socket has nothing now or
   * `limit` bytes were taken, so the batch is bounded. An EOF or a syscall's error a later recv
   * finds is returned, not thrown: the bytes before it come first, and the owner reports it on
   * its next receive.
   */
  takeBatch(limit: number): BatchRead {
    const first = this.takeBytes(Number.MAX_SAFE_INTEGER)
    const chunks: [Uint8Array, ...Array<Uint8Array>] = [first]
    let bytes = first.length
    while (bytes < limit) {
      let outcome: Fill
      try {
        outcome = this.fill(scratch.length)
      } catch (error) {
        return { chunks, bytes, eof: false, error }
      }
      if (outcome !== "data") return { chunks, bytes, eof: outcome === "eof", error: undefined }
      const more = this.takeBytes(Number.MAX_SAFE_INTEGER)
      chunks.push(more)
      bytes += more.length
    }
    return { chunks, bytes, eof: false, error: undefined }
  }

  takeFds(): Array<number> {
    return this.pendingFds.splice(0)
  }

  /**
   * Sends `bytes` from `offset` until all are sent or the socket is full; returns the new
   * offset. Non-empty `fds` travel with the first byte sent (so they are gone once the offset
   * moved); what a partial sendmsg leaves goes out plainly. Throws the syscall's error.
   */
  sendFrom(bytes: Uint8Array, offset: number, fds: ReadonlyArray<number> | undefined): number {
    let sent = offset
    let withFds = fds
    while (sent < bytes.length) {
      const n = withFds
        ? this.addon.sendmsg(this.fd, bytes, sent, bytes.length - sent, withFds, null)
        : this.addon.send(this.fd, bytes, sent, bytes.length - sent)
      if (n === WOULD_BLOCK) break
      withFds = undefined
      sent += n
    }
    return sent
  }

  /** shutdown(SHUT_WR). */
  shutdownWrite(): void {
    this.addon.shutdown(this.fd, 1)
  }

  /** Closes the fd and every received fd nobody took. Close the poller first. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.addon.close(this.fd)
    for (const fd of this.pendingFds.splice(0)) this.addon.close(fd)
    this.pending = new Uint8Array(0)
  }

  localPath(): Buffer {
    return this.addon.getsockname(this.fd)
  }

  /** The peer's credentials (SO_PEERCRED), or undefined when the kernel cannot say. */
  peerCredentials(): PeerCredentialsResult | undefined {
    try {
      return this.addon.peerCredentials(this.fd)
    } catch {
      return undefined
    }
  }

  /** The peer's path, or null when the kernel no longer knows it. */
  peerPath(): Buffer | null {
    try {
      return this.addon.getpeername(this.fd)
    } catch {
      return null
    }
  }
}
