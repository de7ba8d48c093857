/**
 * @internal
 * A pull-mode ByteStream over a connected `net.Socket` (TCP, UNIX or TLS).
 *
 * Node delivers chunks as 'data' events into our own queue (the cheapest path Node has: no
 * 'readable' round trip through nextTick). When the queue holds `QUEUE_LIMIT` bytes the socket
 * is paused, and Node itself stops reading from the kernel once its own buffer is full, so a
 * fast peer cannot grow our memory while nobody receives. `receive` completes synchronously
 * when a chunk is queued and otherwise parks the fiber on a `Signal`; a chunk leaves the queue
 * only in the final synchronous step, so an interrupted receive never consumes anything.
 */
import * as Effect from "effect/Effect"
import type * as net from "node:net"
import type { Attributes, ByteStream, ReceiveError, SendEofError, SendError } from "../ByteStream.js"
import { BrokenResourceError, ClosedResourceError, reasonOf } from "../NetError.js"
import { checkMaxBytes, DEFAULT_MAX_BYTES, failEndOfStream, make as makeByteStream, toBytes } from "./byteStream.js"
import { failBusy, Signal } from "./signal.js"

const closedBeforeEnd = new Error("the socket was closed before the peer ended the stream")

const busyWriting = failBusy("writing to")

/** Queued bytes at which the socket is paused (Node then buffers at most its high-water mark more). */
const QUEUE_LIMIT = 256 * 1024

/** @internal */
export class NodeStream {
  /** this side called close */
  private closed = false
  /** the socket was handed to another owner (`detach`): this stream only closes it */
  private detached = false
  /** this side called sendEof */
  private eofSent = false
  /** the peer's FIN was reached (every byte before it has been buffered) */
  private eof = false
  /** Node emitted 'close': the file descriptor is released */
  private released = false
  private failure: BrokenResourceError | undefined = undefined
  private readonly readable = new Signal(
    () => this.queuedBytes > 0 || this.eof || this.released || this.closed || this.failure !== undefined
  )
  private readonly readWait = this.readable.waitExclusive("reading from")
  private readonly releasedSignal: Array<() => void> = []
  private writesIssued = 0
  private writesDone = 0
  /** The write a parked send waits for, and the first write error since it parked. */
  private waitingFor = 0
  private writeError: Error | undefined = undefined
  private readonly written = new Signal(
    () => this.writesDone >= this.waitingFor || this.writeError !== undefined || this.closed
  )
  /** Received chunks not yet taken, oldest first, from `head` on. */
  private readonly queue: Array<Buffer> = []
  private head = 0
  private queuedBytes = 0
  private pausedByUs = false

  constructor(readonly socket: net.Socket) {
    // An accepted socket may have failed or closed while it waited to be accepted.
    if (socket.errored) {
      this.failure = new BrokenResourceError({
        reason: reasonOf(socket.errored),
        operation: "receive",
        cause: socket.errored
      })
    }
    if (socket.closed) this.released = true
    socket.on("data", this.onData)
    socket.on("end", this.onEnd)
    socket.on("error", this.onError)
    socket.on("close", () => {
      this.released = true
      this.readable.wake()
      for (const resume of this.releasedSignal.splice(0)) resume()
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
    this.readable.wake()
  }

  private readonly onEnd = (): void => {
    this.eof = true
    this.readable.wake()
  }

  private readonly onError = (error: Error): void => {
    this.failure ??= new BrokenResourceError({ reason: reasonOf(error), operation: "receive", cause: error })
    this.readable.wake()
  }

  /**
   * Hands the socket to a new owner (Node's native TLS) with the bytes received but not yet
   * taken put back into it, or returns undefined when this stream is in use or past its
   * prime. Afterwards `close` only destroys the socket and waits for its release.
   */
  detach(): net.Socket | undefined {
    if (this.closed || this.eofSent || this.eof || this.released || this.failure) return undefined
    if (this.readable.hasLiveWaiter || this.written.hasLiveWaiter || this.socket.writableLength > 0) return undefined
    this.socket.off("data", this.onData)
    this.socket.off("end", this.onEnd)
    this.socket.off("error", this.onError)
    this.socket.pause()
    for (let i = this.queue.length - 1; i >= this.head; i--) this.socket.unshift(this.queue[i]!)
    this.queue.length = 0
    this.head = 0
    this.queuedBytes = 0
    this.detached = true
    return this.socket
  }

  /**
   * One receive of at most `maxBytes`, built once per size: the effect is a reusable description,
   * so a receive allocates nothing of its own on the hot path.
   */
  private makeReceive(maxBytes: number): Effect.Effect<Uint8Array, ReceiveError> {
    const invalid = checkMaxBytes(maxBytes)
    if (invalid) return Effect.fail(invalid)
    // The final step: if another reader emptied the queue since our check (the runtime may
    // yield between the two), look again instead of returning nothing.
    const take: Effect.Effect<Uint8Array, ReceiveError> = Effect.suspend(() =>
      this.queuedBytes > 0 ? Effect.succeed(this.take(maxBytes)) : receive
    )
    const receive: Effect.Effect<Uint8Array, ReceiveError> = Effect.suspend(() => {
      if (this.closed || this.detached) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
      if (this.failure) return Effect.fail(this.failure)
      if (this.queuedBytes > 0) return take
      if (this.eof) return failEndOfStream
      if (this.released) {
        return Effect.fail(
          new BrokenResourceError({ reason: "ConnectionReset", operation: "receive", cause: closedBeforeEnd })
        )
      }
      return waitThenReceive
    })
    const waitThenReceive = Effect.zipRight(this.readWait, receive)
    return receive
  }

  private readonly receiveDefault = this.makeReceive(DEFAULT_MAX_BYTES)

  readonly receive = (maxBytes: number = DEFAULT_MAX_BYTES): Effect.Effect<Uint8Array, ReceiveError> =>
    maxBytes === DEFAULT_MAX_BYTES ? this.receiveDefault : this.makeReceive(maxBytes)

  /** The oldest queued chunk (split if longer than `maxBytes`); resumes a socket we paused. */
  private take(maxBytes: number): Uint8Array {
    const chunk = this.queue[this.head]!
    let out: Buffer
    if (chunk.length <= maxBytes) {
      out = chunk
      this.queue[this.head++] = undefined as unknown as Buffer
      if (this.head === this.queue.length) {
        this.queue.length = 0
        this.head = 0
      } else if (this.head > 64 && this.head * 2 > this.queue.length) {
        this.queue.splice(0, this.head)
        this.head = 0
      }
    } else {
      out = chunk.subarray(0, maxBytes)
      this.queue[this.head] = chunk.subarray(maxBytes)
    }
    this.queuedBytes -= out.length
    if (this.pausedByUs && this.queuedBytes < QUEUE_LIMIT / 2) {
      this.pausedByUs = false
      this.socket.resume()
    }
    return out
  }

  readonly send = (data: Uint8Array | string): Effect.Effect<void, SendError> =>
    Effect.withFiberRuntime((fiber) => {
      if (this.closed || this.eofSent || this.detached) {
        return Effect.fail(new ClosedResourceError({ operation: "send" }))
      }
      if (this.failure) return Effect.fail(this.brokenSend(this.failure.cause))
      if (this.written.isBusy(fiber)) return busyWriting
      const bytes = toBytes(data)
      if (bytes.length === 0) return Effect.void
      if (this.socket.destroyed) return Effect.fail(this.brokenSend(closedBeforeEnd))
      const seq = ++this.writesIssued
      this.socket.write(bytes, this.onWritten)
      // Written straight through to the kernel: nothing is left in Node's buffer.
      if (this.socket.writableLength === 0 && !this.socket.destroyed) return Effect.void
      this.waitingFor = seq
      this.writeError = undefined
      return this.awaitWrite
    })

  /** What the waiting send learns once its write is done (or the stream closed under it). */
  private readonly writeOutcome: Effect.Effect<void, SendError> = Effect.suspend(() => {
    if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "send" }))
    return this.writeError ? Effect.fail(this.writeFailure(this.writeError)) : Effect.void
  })

  private readonly awaitWrite = Effect.zipRight(this.written.wait, this.writeOutcome)

  /**
   * One callback for every write (Node runs them in order, and coalesces the ticks of a
   * callback it has seen before); the waiting send is woken when its own write is done, or
   * by the first error.
   */
  private readonly onWritten = (error?: Error | null): void => {
    this.writesDone++
    // Node reports a write on a socket it already destroyed (a reset) as done: it was not.
    const failed = error ??
      (this.socket.destroyed && !this.closed ? (this.socket.errored ?? closedBeforeEnd) : undefined)
    if (failed) this.writeError ??= failed
    if (failed || this.writesDone >= this.waitingFor) this.written.wake()
  }

  private brokenSend(cause: unknown): BrokenResourceError {
    return new BrokenResourceError({ reason: reasonOf(cause), operation: "send", cause })
  }

  private writeFailure(error: Error): ClosedResourceError | BrokenResourceError {
    if (this.closed) return new ClosedResourceError({ operation: "send" })
    const code = (error as { code?: string }).code
    // Node reports a write on a socket it destroyed after an error with its own code; the
    // operating system's error is the one the socket failed with.
    if (code === "ERR_STREAM_DESTROYED" && this.failure) return this.brokenSend(this.failure.cause)
    return this.brokenSend(error)
  }

  readonly sendEof: Effect.Effect<void, SendEofError> = Effect.suspend((): Effect.Effect<void, SendEofError> => {
    if (this.closed || this.detached) return Effect.fail(new ClosedResourceError({ operation: "sendEof" }))
    if (this.eofSent) return Effect.void
    if (this.failure) return Effect.fail(this.brokenSend(this.failure.cause))
    this.eofSent = true
    // Node queues the FIN behind any data still being written.
    this.socket.end()
    return Effect.void
  })

  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.closed) {
      this.closed = true
      this.socket.destroy()
      this.readable.wake()
      this.written.wake()
    }
    if (this.released) return Effect.void
    return Effect.async<void>((resume) => {
      this.releasedSignal.push(() => resume(Effect.void))
    })
  })
}

/**
 * @internal
 * Adopts a connected socket. The returned stream owns it.
 */
export const make = <A extends Attributes>(
  socket: net.Socket,
  attributes: A
): ByteStream & { readonly attributes: A } => {
  const core = new NodeStream(socket)
  const stream = makeByteStream({
    receive: core.receive,
    send: core.send,
    sendEof: core.sendEof,
    close: core.close,
    attributes
  })
  cores.set(stream, core)
  return stream
}

const cores = new WeakMap<ByteStream, NodeStream>()

/**
 * @internal
 * The `net.Socket` under a stream made by `make`, handed over with its unread bytes (see
 * `NodeStream.detach`), or undefined for any other stream or one already in use.
 */
export const detachSocket = (stream: ByteStream): net.Socket | undefined => cores.get(stream)?.detach()
