/**
 * @internal
 * The Effect 4 edition's pull-mode ByteStream over the shared node:net stream driver (TCP,
 * UNIX or TLS); the same rules and byte accounting as the Effect 3 edition's.
 *
 * `receive` completes synchronously when a chunk is queued and otherwise parks the fiber on a
 * `Signal`; a chunk leaves the queue only in the final synchronous step, so an interrupted
 * receive never consumes anything. `receiveBatch` is the same with the whole queue as its final
 * step; `sendAll` writes its chunks corked (one writev). A send that Node could not pass
 * straight to the kernel waits until its bytes (or its batch's) have left Node (the driver's
 * fenced write), so a slow peer slows the sender.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as net from "node:net"
import { closedBeforeEnd, DESTROYED, NetStreamDriver, WRITTEN } from "../../internal/driver/netStream.js"
import type { Attributes, ByteStream, ReceiveError, SendEofError, SendError } from "../ByteStream.js"
import { BrokenResourceError, ClosedResourceError, InvalidArgumentError } from "../NetError.js"
import {
  checkMaxBytes,
  DEFAULT_MAX_BYTES,
  failEndOfStream,
  make as makeByteStream,
  toByteBatch,
  toBytes
} from "./byteStream.js"
import { broken } from "./errors.js"
import { failBusy, Signal } from "./signal.js"
import { register, type Side, Traffic, type Transport } from "./telemetry.js"

const busyWriting = failBusy("writing to")

/** @internal */
export class NetStream {
  /** this side called close */
  private closed = false
  /** the socket was handed to another owner (`detach`): this stream only closes it */
  private detached = false
  /** this side called sendEof */
  private eofSent = false
  private readonly driver: NetStreamDriver
  private readonly readable = new Signal(() => {
    const d = this.driver
    return d.queuedBytes > 0 || d.eof || d.released || d.error !== undefined || this.closed
  })
  private readonly releasedWaiters: Array<() => void> = []
  private readonly written = new Signal(() => {
    const d = this.driver
    return d.writesDone >= d.waitingFor || d.writeError !== undefined || this.closed
  })

  /** Bytes in and out, flushed into the counters at close (telemetry.ts). */
  readonly traffic: Traffic

  constructor(socket: net.Socket, traffic: Traffic) {
    this.traffic = traffic
    this.driver = new NetStreamDriver(socket, {
      readable: () => this.readable.wakeSoon(),
      written: () => this.written.wakeSoon(),
      released: () => {
        this.readable.wake()
        for (const resume of this.releasedWaiters.splice(0)) resume()
      }
    })
    this.receiveDefault = this.makeReceive(DEFAULT_MAX_BYTES)
    this.receiveBatch = this.makeReceiveBatch()
  }

  /** The socket, while this stream still owns it open (not closed, detached or released). */
  get liveSocket(): net.Socket | undefined {
    return this.closed || this.detached || this.driver.released ? undefined : this.driver.socket
  }

  /**
   * Hands the socket to a new owner (Node's native TLS) with the bytes received but not yet
   * taken put back into it, or returns undefined when this stream is in use or past its
   * prime. Afterwards `close` only destroys the socket and waits for its release.
   */
  detach(): net.Socket | undefined {
    const d = this.driver
    if (this.closed || this.eofSent || d.eof || d.released || d.error) return undefined
    if (this.readable.hasLiveWaiter || this.written.hasLiveWaiter || d.writing) return undefined
    this.detached = true
    return d.detach()
  }

  /**
   * A receive whose bytes leave the queue (`take`, run only while it holds bytes) in the same
   * synchronous step that found them, so an interrupted receive consumes nothing; a woken reader
   * resumes straight into `receive` (`waitExclusiveThen`: no extra step per park). Built once per
   * shape: the effect is a reusable description, so a receive allocates nothing on the hot path.
   */
  private reader<A>(take: () => A): Effect.Effect<A, ReceiveError> {
    const d = this.driver
    const receive: Effect.Effect<A, ReceiveError> = Effect.suspend(() => {
      const failure = this.receiveFailure()
      if (failure) return failure
      return d.queuedBytes > 0 ? Effect.succeed(take()) : waitThenReceive
    })
    const waitThenReceive = this.readable.waitExclusiveThen("reading from", receive)
    return receive
  }

  /** One receive of at most `maxBytes`, built once per size. */
  private makeReceive(maxBytes: number): Effect.Effect<Uint8Array, ReceiveError> {
    const invalid = checkMaxBytes(maxBytes)
    return invalid ? Effect.fail(invalid) : this.reader(() => this.count(this.driver.take(maxBytes)))
  }

  /**
   * Every queued chunk in one receive, built once (the driver's queue limit bounds the batch):
   * `takeAll` runs only while the queue holds bytes, so the batch is never empty.
   */
  private makeReceiveBatch(): Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, ReceiveError> {
    return this.reader(() => this.countAll(this.driver.takeAll() as unknown as NonEmptyReadonlyArray<Uint8Array>))
  }

  /** Built in the constructor, once the driver exists. */
  readonly receiveBatch: Effect.Effect<NonEmptyReadonlyArray<Uint8Array>, ReceiveError>

  /** Why a receive cannot wait for data (closed, failed, ended), or undefined when it can. */
  private receiveFailure(): Effect.Effect<never, ReceiveError> | undefined {
    const d = this.driver
    if (this.closed || this.detached) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
    if (d.error) return Effect.fail(broken("receive", d.error))
    if (d.queuedBytes > 0) return undefined
    if (d.eof) return failEndOfStream
    if (d.released) {
      return Effect.fail(
        new BrokenResourceError({ reason: "ConnectionReset", operation: "receive", cause: closedBeforeEnd })
      )
    }
    return undefined
  }

  private count(chunk: Uint8Array): Uint8Array {
    this.traffic.addReceived(chunk.length)
    return chunk
  }

  private countAll(chunks: NonEmptyReadonlyArray<Uint8Array>): NonEmptyReadonlyArray<Uint8Array> {
    for (const chunk of chunks) this.traffic.addReceived(chunk.length)
    return chunks
  }

  /** Built in the constructor, once the driver exists. */
  private readonly receiveDefault: Effect.Effect<Uint8Array, ReceiveError>

  readonly receive = (maxBytes: number = DEFAULT_MAX_BYTES): Effect.Effect<Uint8Array, ReceiveError> =>
    maxBytes === DEFAULT_MAX_BYTES ? this.receiveDefault : this.makeReceive(maxBytes)

  readonly send = (data: Uint8Array | string): Effect.Effect<void, SendError> =>
    Effect.withFiber((fiber) => {
      const bytes = toBytes(data)
      if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
      const refused = this.sendRefusal(fiber)
      if (refused) return refused
      if (bytes.length === 0) return Effect.void
      this.traffic.addSent(bytes.length)
      return this.outcome(this.driver.write(bytes))
    })

  /** Sends every chunk in order as one corked batch (one writev); waits as `send` does. */
  readonly sendAll = (chunks: Iterable<Uint8Array | string>): Effect.Effect<void, SendError> =>
    Effect.withFiber((fiber) => {
      const batch = toByteBatch(chunks)
      if (batch instanceof InvalidArgumentError) return Effect.fail(batch)
      const refused = this.sendRefusal(fiber)
      if (refused) return refused
      if (batch.chunks.length === 0) return Effect.void
      this.traffic.addSent(batch.bytes)
      return this.outcome(this.driver.writeAll(batch.chunks))
    })

  /** Why a send cannot start now (closed, failed, another sender waiting), or undefined. */
  private sendRefusal(fiber: Fiber.Fiber<unknown, unknown>): Effect.Effect<never, SendError> | undefined {
    if (this.closed || this.eofSent || this.detached) {
      return Effect.fail(new ClosedResourceError({ operation: "send" }))
    }
    if (this.driver.error) return Effect.fail(broken("send", this.driver.error))
    if (this.written.isBusy(fiber)) return busyWriting
    return undefined
  }

  /** What a send waits for after its write: nothing, a failure, or its write's callback. */
  private outcome(written: number): Effect.Effect<void, SendError> {
    if (written === WRITTEN) return Effect.void
    if (written === DESTROYED) return Effect.fail(broken("send", closedBeforeEnd))
    return this.awaitWrite
  }

  /** What the waiting send learns once its write is done (or the stream closed under it). */
  private readonly writeOutcome: Effect.Effect<void, SendError> = Effect.suspend(() => {
    if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "send" }))
    const error = this.driver.writeError
    return error ? Effect.fail(this.writeFailure(error)) : Effect.void
  })

  private readonly awaitWrite = this.written.waitThen(this.writeOutcome)

  private writeFailure(error: Error): ClosedResourceError | BrokenResourceError {
    if (this.closed) return new ClosedResourceError({ operation: "send" })
    // A write Node dropped when the socket failed may only now see the socket's own error.
    const code = (error as { code?: string }).code
    const failure = this.driver.error
    if ((code === "ERR_STREAM_DESTROYED" || code === "ECANCELED") && failure) return broken("send", failure)
    return broken("send", error)
  }

  readonly sendEof: Effect.Effect<void, SendEofError> = Effect.suspend((): Effect.Effect<void, SendEofError> => {
    if (this.closed || this.detached) return Effect.fail(new ClosedResourceError({ operation: "sendEof" }))
    if (this.eofSent) return Effect.void
    if (this.driver.error) return Effect.fail(broken("send", this.driver.error))
    this.eofSent = true
    this.driver.end()
    return Effect.void
  })

  readonly close: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.closed) {
      this.closed = true
      this.traffic.close()
      this.driver.destroy()
      this.readable.wake()
      this.written.wake()
    }
    if (this.driver.released) return Effect.void
    return Effect.callback<void>((resume) => {
      this.releasedWaiters.push(() => resume(Effect.void))
    })
  })
}

/**
 * @internal
 * Adopts a connected socket. The returned stream owns it.
 */
export const make = <A extends Attributes>(
  socket: net.Socket,
  attributes: A,
  transport: Transport,
  side: Side
): ByteStream & { readonly attributes: A } => {
  const core = new NetStream(socket, new Traffic(transport, side))
  const stream = makeByteStream({
    receive: core.receive,
    receiveBatch: () => core.receiveBatch,
    send: core.send,
    sendAll: core.sendAll,
    sendEof: core.sendEof,
    close: core.close,
    attributes
  })
  cores.set(stream, core)
  return register(stream, core.traffic)
}

const cores = new WeakMap<ByteStream, NetStream>()

/**
 * @internal
 * The `net.Socket` under a stream made by `make`, handed over with its unread bytes (see
 * `NetStream.detach`), or undefined for any other stream or one already in use.
 */
export const detachSocket = (stream: ByteStream): net.Socket | undefined => cores.get(stream)?.detach()

/** @internal The socket under a stream made by `make` while it is open, else undefined. */
export const liveSocketOf = (stream: ByteStream): net.Socket | undefined => cores.get(stream)?.liveSocket

/** @internal Whether `stream` was made by `make` (a stream over a `net.Socket` of ours). */
export const isNetStream = (stream: ByteStream): boolean => cores.has(stream)
