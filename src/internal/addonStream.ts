/**
 * @internal
 * Effect layer of the addon's UNIX stream: the one-reader and one-writer rules, parking on the
 * fd's readiness, and typed errors over `driver/addonStream.ts`. Bytes and fds leave the
 * driver's `pending` only in a final synchronous step, so an interrupted receive leaves them
 * for the next one.
 */
import * as Chunk from "effect/Chunk"
import * as Effect from "effect/Effect"
import type { ReceiveError, SendEofError, SendError } from "../ByteStream.js"
import { type BrokenResourceError, InvalidArgumentError } from "../NetError.js"
import type { UnixStream } from "../Socket/Unix.js"
import { BATCH_LIMIT, coalesce } from "./batchRules.js"
import {
  checkMaxBytes,
  DEFAULT_MAX_BYTES,
  failEndOfStream,
  make as makeByteStream,
  toByteBatch,
  toBytes
} from "./byteStream.js"
import type { Addon } from "./driver/addon.js"
import { AddonStreamDriver, FdsTruncated, type Fill } from "./driver/addonStream.js"
import { OwnedFdKey } from "./driver/fds.js"
import { broken, closed } from "./errors.js"
import { checkFdCount, checkMessage, resolveFds } from "./fds.js"
import { FdWatcher } from "./fdWatcher.js"
import { failBusy } from "./signal.js"
import { register, type Side, Traffic } from "./telemetry.js"
import { toUnixAddress } from "./unixPath.js"

const busyReading = failBusy("reading from")
const busyWriting = failBusy("writing to")

/** @internal */
export class AddonStream {
  private eofSent = false
  private eof = false
  private failure: BrokenResourceError | undefined = undefined
  private writing = false
  private readonly watcher: FdWatcher
  readonly driver: AddonStreamDriver
  /** Bytes in and out, flushed into the counters at close (telemetry.ts). */
  readonly traffic: Traffic

  constructor(addon: Addon, fd: number, side: Side) {
    this.traffic = new Traffic("unix", side)
    this.watcher = new FdWatcher(addon, fd)
    this.driver = new AddonStreamDriver(addon, fd, this.watcher.poller)
  }

  /** The typed failure of a read that threw: a system error breaks the stream for good. */
  private fillFailure(cause: unknown): BrokenResourceError {
    // A refused message (too many fds) does not break the stream.
    return cause instanceof FdsTruncated ? broken("receiveFds", cause) : (this.failure = broken("receive", cause))
  }

  /**
   * A receive: as the one reader, until `fill` has put something in `pending` (or it fails),
   * then `take`. The checks and the read are one synchronous step and a woken reader resumes
   * straight into it, so a receive that finds data costs two steps. Bytes leave `pending` only
   * in `take`, the last step, so an interrupted receive leaves them for the next one.
   */
  private awaitThen<A>(fill: () => Fill, take: Effect.Effect<A>): Effect.Effect<A, ReceiveError> {
    const receive: Effect.Effect<A, ReceiveError> = Effect.withFiberRuntime((fiber) => {
      if (this.driver.closed) return Effect.fail(closed("receive"))
      if (this.failure) return Effect.fail(this.failure)
      if (this.driver.pending.length > 0) return take
      if (this.eof) return failEndOfStream
      if (this.watcher.readerBusy(fiber)) return busyReading
      let outcome: Fill
      try {
        outcome = fill()
      } catch (cause) {
        return Effect.fail(this.fillFailure(cause))
      }
      if (outcome === "data") return take
      if (outcome === "eof") {
        this.eof = true
        return failEndOfStream
      }
      return waitThenReceive
    })
    const waitThenReceive = this.watcher.waitReadableThen(receive)
    return receive
  }

  /** One receive of at most `maxBytes`, built once per size (a receive then allocates no effects). */
  private makeReceive(maxBytes: number): Effect.Effect<Uint8Array, ReceiveError> {
    const invalid = checkMaxBytes(maxBytes)
    if (invalid) return Effect.fail(invalid)
    return this.awaitThen(
      () => this.driver.fill(maxBytes),
      Effect.sync(() => this.count(this.driver.takeBytes(maxBytes)))
    )
  }

  /**
   * Every byte the socket has, in one receive (`driver.takeBatch`: bounded by `BATCH_LIMIT`). A
   * failure or the EOF a later recv finds is kept for the next receive: the bytes before it are
   * delivered first.
   */
  readonly receiveBatch = (): Effect.Effect<
    Chunk.NonEmptyChunk<Uint8Array>,
    ReceiveError
  > => (this.batchReceive ??= this.awaitThen(
    () => this.driver.fill(DEFAULT_MAX_BYTES),
    Effect.sync(() => {
      const batch = this.driver.takeBatch(BATCH_LIMIT)
      if (batch.eof) this.eof = true
      if (batch.error !== undefined) this.failure = broken("receive", batch.error)
      this.traffic.addReceived(batch.bytes)
      return Chunk.unsafeFromNonEmptyArray(batch.chunks)
    })
  ))

  private batchReceive: Effect.Effect<Chunk.NonEmptyChunk<Uint8Array>, ReceiveError> | undefined = undefined

  private count(chunk: Uint8Array): Uint8Array {
    this.traffic.addReceived(chunk.length)
    return chunk
  }

  private receiveDefault: Effect.Effect<Uint8Array, ReceiveError> | undefined = undefined

  readonly receive = (maxBytes: number = DEFAULT_MAX_BYTES): Effect.Effect<Uint8Array, ReceiveError> =>
    maxBytes === DEFAULT_MAX_BYTES
      ? (this.receiveDefault ??= this.makeReceive(DEFAULT_MAX_BYTES))
      : this.makeReceive(maxBytes)

  readonly receiveFds = (
    msglen: number,
    maxfds: number
  ): Effect.Effect<readonly [Uint8Array, ReadonlyArray<number>], ReceiveError | InvalidArgumentError> =>
    Effect.suspend(() => {
      const invalid = checkFdCount(msglen, "msglen") ?? checkFdCount(maxfds, "maxfds")
      if (invalid) return Effect.fail(invalid)
      return this.awaitThen(
        () => this.driver.fillWithFds(msglen, maxfds),
        Effect.sync(() => [this.count(this.driver.takeBytes(msglen)), this.driver.takeFds()] as const)
      )
    })

  private sendCheck(): Effect.Effect<never, SendError> | undefined {
    if (this.driver.closed || this.eofSent) return Effect.fail(closed("send"))
    if (this.failure) return Effect.fail(this.failure)
    return undefined
  }

  /**
   * Writes all of `bytes` from `from` on, `fds` with the first byte, waiting for writability as
   * needed (first of all when `from` > 0: a send stopped there because the socket was full).
   */
  private writeAll(
    bytes: Uint8Array,
    fds: ReadonlyArray<number> | undefined,
    from = 0
  ): Effect.Effect<void, SendError> {
    let offset = from
    let pendingFds = fds
    const step: Effect.Effect<void, SendError> = Effect.suspend(() => {
      const bad = this.sendCheck()
      if (bad) return bad
      try {
        const sent = this.driver.sendFrom(bytes, offset, pendingFds)
        if (sent > offset) {
          pendingFds = undefined
          this.traffic.addSent(sent - offset)
        }
        offset = sent
      } catch (cause) {
        this.failure = broken("send", cause)
        return Effect.fail(this.failure)
      }
      return offset < bytes.length ? waitThenStep : Effect.void
    })
    const waitThenStep = this.watcher.waitWritableThen(step)
    return from > 0 ? waitThenStep : step
  }

  /**
   * A plain send: written at once when the socket takes it all (the common case, with no lock or
   * finalizer to set up: one synchronous step is atomic), else the rest as an exclusive write.
   */
  private sendNow(bytes: Uint8Array): Effect.Effect<void, SendError> {
    if (this.writing) return busyWriting
    let sent: number
    try {
      sent = this.driver.sendFrom(bytes, 0, undefined)
    } catch (cause) {
      this.failure = broken("send", cause)
      return Effect.fail(this.failure)
    }
    this.traffic.addSent(sent)
    return sent === bytes.length ? Effect.void : this.exclusiveWrite(this.writeAll(bytes, undefined, sent))
  }

  private exclusiveWrite(write: Effect.Effect<void, SendError>): Effect.Effect<void, SendError> {
    if (this.writing) return busyWriting
    this.writing = true
    return Effect.ensuring(write, Effect.sync(() => (this.writing = false)))
  }

  readonly send = (data: Uint8Array | string): Effect.Effect<void, SendError> =>
    Effect.suspend(() => {
      const bytes = toBytes(data)
      if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
      const bad = this.sendCheck()
      if (bad) return bad
      return bytes.length === 0 ? Effect.void : this.sendNow(bytes)
    })

  /**
   * Sends every chunk in order as one exclusive write; small neighbours are joined (up to
   * `BATCH_LIMIT` bytes a piece) so a batch of small chunks costs few syscalls.
   */
  readonly sendAll = (chunks: Iterable<Uint8Array | string>): Effect.Effect<void, SendError> =>
    Effect.suspend(() => {
      const batch = toByteBatch(chunks)
      if (batch instanceof InvalidArgumentError) return Effect.fail(batch)
      const bad = this.sendCheck()
      if (bad) return bad
      if (batch.chunks.length === 0) return Effect.void
      const pieces = coalesce(batch.chunks, BATCH_LIMIT)
      return this.exclusiveWrite(Effect.forEach(pieces, (piece) => this.writeAll(piece, undefined), { discard: true }))
    })

  readonly sendFds = (
    message: Uint8Array | string,
    fds: ReadonlyArray<unknown>
  ): Effect.Effect<void, SendError | InvalidArgumentError> =>
    Effect.suspend(() => {
      const bytes = toBytes(message, "message")
      if (bytes instanceof InvalidArgumentError) return Effect.fail(bytes)
      const invalid = checkMessage(bytes)
      if (invalid) return Effect.fail(invalid)
      return Effect.flatMap(
        resolveFds(this.driver.addon, fds),
        (numbers) => this.sendCheck() ?? this.exclusiveWrite(this.writeAll(bytes, numbers))
      )
    })

  readonly sendEof: Effect.Effect<void, SendEofError> = Effect.suspend((): Effect.Effect<void, SendEofError> => {
    if (this.driver.closed) return Effect.fail(closed("sendEof"))
    if (this.eofSent) return Effect.void
    this.eofSent = true
    try {
      this.driver.shutdownWrite()
      return Effect.void
    } catch (cause) {
      // The peer is gone already: the stream is over in that direction either way.
      return Effect.fail(broken("sendEof", cause))
    }
  })

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.driver.closed) return
    this.traffic.close()
    // libuv must forget the fd before the number can be reused.
    this.watcher.close()
    this.driver.close()
  })
}

/** @internal A UnixStream owning a connected addon socket. */
export const make = (addon: Addon, fd: number, side: Side): UnixStream => {
  const core = new AddonStream(addon, fd, side)
  // Read once, now: SO_PEERCRED is what the kernel recorded when the peer connected.
  const credentials = core.driver.peerCredentials()
  return register(
    makeByteStream({
      receive: core.receive,
      receiveBatch: core.receiveBatch,
      send: core.send,
      sendAll: core.sendAll,
      sendEof: core.sendEof,
      close: core.close,
      receiveFds: core.receiveFds,
      sendFds: core.sendFds,
      attributes: {
        family: "unix" as const,
        localAddress: toUnixAddress(core.driver.localPath()),
        remoteAddress: toUnixAddress(core.driver.peerPath()),
        ...(credentials === undefined ? {} : { peerCredentials: credentials })
      },
      // Passing the stream itself with sendFds passes the fd it owns.
      [OwnedFdKey]: () => (core.driver.closed ? undefined : fd)
    }),
    core.traffic
  )
}
