/**
 * @internal
 * Driver: a connected `net.Socket` (TCP, UNIX or TLS) as plain state and calls. Effect-free.
 *
 * Node delivers chunks as 'data' events into our own queue (the cheapest path Node has: no
 * 'readable' round trip through nextTick). When the queue holds `QUEUE_LIMIT` bytes the socket
 * is paused, and Node itself stops reading from the kernel once its own buffer is full, so a
 * fast peer cannot grow our memory while nobody receives. The queue is taken a chunk at a time
 * (`take`) or whole (`takeAll`, a batch); `writeAll` corks a batch of writes into one writev.
 * A write the kernel takes at once carries no callback (Node then schedules nothing); the
 * others are numbered, and one stable callback counts them (Node runs write callbacks in
 * order), so whoever waits for a write knows when its own is done.
 */
import type * as net from "node:net"
import { Fifo } from "./fifo.js"

/** @internal What the driver tells its owner; each is a "look again" (no data travels with it). */
export interface NetStreamEvents {
  /** Data, the peer's EOF, an error or the socket's release: a reader has something to look at. */
  readonly readable: () => void
  /** The awaited write (or an earlier one that failed) is done. */
  readonly written: () => void
  /** Node released the file descriptor ('close'). */
  readonly released: () => void
}

/** Queued bytes at which the socket is paused (Node then buffers at most its high-water mark more). */
const QUEUE_LIMIT = 256 * 1024

/** @internal The error a write on a socket that vanished under it reports. */
export const closedBeforeEnd = new Error("the socket was closed before the peer ended the stream")

/** An empty write: queued behind a write, its callback runs once that write is done (see `write`). */
const FENCE = new Uint8Array(0)

/** @internal What `write` did: handed straight to the kernel, or the number of the write to await. */
export const WRITTEN = 0
/** @internal `write` found the socket destroyed: nothing was written. */
export const DESTROYED = -1

/** @internal */
export class NetStreamDriver {
  /** The peer's FIN was reached (every byte before it has been queued). */
  eof = false
  /** Node emitted 'close': the file descriptor is released. */
  released = false
  /** The first error the socket reported. */
  error: Error | undefined = undefined
  /** This side destroyed the socket (`destroy`). */
  destroyed = false
  queuedBytes = 0
  writesDone = 0
  /** The write a waiting sender waits for, and the first write error since it started waiting. */
  waitingFor = 0
  writeError: Error | undefined = undefined
  private writesIssued = 0
  /** Received chunks not yet taken, oldest first. */
  private readonly queue = new Fifo<Buffer>()
  private pausedByUs = false

  constructor(readonly socket: net.Socket, private readonly events: NetStreamEvents) {
    // An accepted socket may have failed or closed while it waited to be accepted.
    if (socket.errored) this.error = socket.errored
    if (socket.closed) this.released = true
    socket.on("data", this.onData)
    socket.on("end", this.onEnd)
    socket.on("error", this.onError)
    socket.on("close", () => {
      this.released = true
      events.released()
    })
    // Accepted sockets start paused (nothing read before someone owns them).
    socket.resume()
  }

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk)
    this.queuedBytes += chunk.length
    if (this.queuedBytes >= QUEUE_LIMIT && !this.pausedByUs) {
      this.pausedByUs = true
      this.socket.pause()
    }
    this.events.readable()
  }

  private readonly onEnd = (): void => {
    this.eof = true
    this.events.readable()
  }

  private readonly onError = (error: Error): void => {
    this.error ??= error
    this.events.readable()
  }

  /** The oldest queued chunk (split if longer than `maxBytes`); resumes a socket we paused. */
  take(maxBytes: number): Buffer {
    const chunk = this.queue.peek()
    let out: Buffer
    if (chunk.length <= maxBytes) {
      out = this.queue.shift()
    } else {
      out = chunk.subarray(0, maxBytes)
      this.queue.replaceOldest(chunk.subarray(maxBytes))
    }
    this.queuedBytes -= out.length
    if (this.pausedByUs && this.queuedBytes < QUEUE_LIMIT / 2) {
      this.pausedByUs = false
      this.socket.resume()
    }
    return out
  }

  /**
   * Every queued chunk at once, oldest first (empty when none is queued), for a batch receive:
   * one wake-up of the reader serves them all. The queue's bound (`QUEUE_LIMIT` plus one chunk)
   * bounds the batch. Resumes a socket we paused.
   */
  takeAll(): Array<Buffer> {
    const out = this.queue.takeAll()
    this.queuedBytes = 0
    if (this.pausedByUs) {
      this.pausedByUs = false
      this.socket.resume()
    }
    return out
  }

  /**
   * Writes every chunk as one batch: corked, so Node hands them to the kernel in one writev.
   * Reports as `write` does; the awaited write is the batch's fence (see `write`).
   */
  writeAll(chunks: ReadonlyArray<Uint8Array>): number {
    if (chunks.length === 1) return this.write(chunks[0]!)
    if (this.socket.destroyed) return DESTROYED
    const idle = this.socket.writableLength === 0
    this.socket.cork()
    try {
      for (const chunk of chunks) this.issue(chunk, idle)
    } finally {
      this.socket.uncork()
    }
    return this.outcome(idle)
  }

  /**
   * Writes `bytes`: `WRITTEN` when Node passed them straight to the kernel (nothing left in its
   * buffer), `DESTROYED` when the socket is gone, else the number of the write to await, which
   * becomes the awaited one (`waitingFor`, with `writeError` cleared).
   *
   * A write onto an idle socket carries no callback: Node completes a callback-less write that
   * the kernel took at once without scheduling a tick (one `nextTick` and its callback fewer per
   * send). Only if Node kept some of it does a zero-length write with the callback follow it as
   * a fence: Node finishes writes in order, so the fence's callback says the write before it is
   * done (or failed). A write behind pending ones carries the callback itself.
   */
  write(bytes: Uint8Array): number {
    if (this.socket.destroyed) return DESTROYED
    const idle = this.socket.writableLength === 0
    this.issue(bytes, idle)
    return this.outcome(idle)
  }

  /** Onto an idle socket without a callback, else counted (see `write`). */
  private issue(bytes: Uint8Array, idle: boolean): void {
    if (idle) this.socket.write(bytes)
    else this.writeCounted(bytes)
  }

  /**
   * Counted only once Node took it: a write Node refuses (it throws) gets no callback, and a
   * number it will never answer would leave every later awaited write waiting forever.
   */
  private writeCounted(bytes: Uint8Array): void {
    this.socket.write(bytes, this.onWritten)
    ++this.writesIssued
  }

  /**
   * What the writes just issued amount to: `WRITTEN`, or the number of the last counted write,
   * now the awaited one. Behind uncounted (`idle`) writes that Node kept, that is a fence (on a
   * socket destroyed meanwhile, Node fails the fence: the sender hears of it).
   */
  private outcome(idle: boolean): number {
    if (this.socket.writableLength === 0 && !this.socket.destroyed) return WRITTEN
    if (idle) this.writeCounted(FENCE)
    this.waitingFor = this.writesIssued
    this.writeError = undefined
    return this.writesIssued
  }

  /**
   * One callback for every write (Node runs them in order, and coalesces the ticks of a
   * callback it has seen before): the waiter hears of its own write, or of the first error.
   */
  private readonly onWritten = (error?: Error | null): void => {
    this.writesDone++
    // Node reports a write on a socket it already destroyed (a reset) as done: it was not.
    const failed = error ??
      (this.socket.destroyed && !this.destroyed ? (this.socket.errored ?? closedBeforeEnd) : undefined)
    if (failed) this.writeError ??= this.rootCause(failed)
    if (failed || this.writesDone >= this.waitingFor) this.events.written()
  }

  /**
   * A write that Node dropped because the socket failed under it reports Node's own code
   * (`ERR_STREAM_DESTROYED`; `ECANCELED` from the cancelled libuv request on Node 22+), not why:
   * the operating system's error is the one the socket failed with.
   */
  private rootCause(error: Error): Error {
    const code = (error as { code?: unknown }).code
    const dropped = code === "ERR_STREAM_DESTROYED" || code === "ECANCELED"
    return dropped ? (this.error ?? this.socket.errored ?? error) : error
  }

  /** Whether Node still holds written bytes that have not reached the kernel. */
  get writing(): boolean {
    return this.socket.writableLength > 0
  }

  /** Half-close: Node queues the FIN behind any data still being written. */
  end(): void {
    this.socket.end()
  }

  /** Closes the socket; `released` follows when Node has let the fd go. */
  destroy(): void {
    this.destroyed = true
    this.socket.destroy()
  }

  /**
   * Hands the socket to a new owner with the bytes received but not yet taken put back into it:
   * from here on this driver hears nothing more from the socket.
   */
  detach(): net.Socket {
    this.socket.off("data", this.onData)
    this.socket.off("end", this.onEnd)
    this.socket.off("error", this.onError)
    this.socket.pause()
    // unshift puts each chunk in front of the previous one: the newest goes back first.
    const unread = this.queue.takeAll()
    for (let i = unread.length - 1; i >= 0; i--) this.socket.unshift(unread[i]!)
    this.queuedBytes = 0
    return this.socket
  }
}
