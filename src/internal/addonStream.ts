/**
 * @internal
 * A UNIX stream socket owned end to end by the addon: non-blocking syscalls, readiness from
 * libuv, and SCM_RIGHTS fd passing (which a `node:net` socket cannot do: libuv reads with plain
 * read(), and the kernel discards the fds).
 *
 * Received bytes and fds go to `pending` first and are handed out by a final synchronous step,
 * so an interrupted receive leaves them for the next one; fds nobody takes are closed on close.
 */
import * as Effect from "effect/Effect"
import type { ReceiveError, SendEofError, SendError } from "../ByteStream.js"
import { BrokenResourceError, BusyResourceError, ClosedResourceError, type InvalidArgumentError } from "../NetError.js"
import type { UnixStream } from "../Socket/Unix.js"
import { type Addon, WOULD_BLOCK } from "./addon.js"
import {
  checkMaxBytes,
  concat,
  DEFAULT_MAX_BYTES,
  failEndOfStream,
  make as makeByteStream,
  toBytes
} from "./byteStream.js"
import { checkFdCount, checkMessage, resolveFds } from "./fds.js"
import { FdWatcher } from "./fdWatcher.js"
import { broken } from "./native.js"
import { toUnixAddress } from "./unixPath.js"

/**
 * One scratch buffer for every socket: syscalls are synchronous, so it is never shared in flight.
 * A read takes at most its size (a receive may return fewer bytes than asked for), so a huge
 * `maxBytes` never becomes a huge allocation.
 */
const scratch = Buffer.allocUnsafe(DEFAULT_MAX_BYTES)
const readSize = (length: number) => Math.min(length, scratch.length)

type Fill = "data" | "eof" | "wait"

/** More fds were sent than `maxfds` allowed: the kernel dropped some, we closed the rest. */
class FdsTruncated extends Error {
  readonly code = "EMSGSIZE"
  constructor(maxfds: number) {
    super(
      `more than ${maxfds} file descriptors were sent; ` +
        "the kernel dropped the extra ones and the ones that arrived were closed"
    )
  }
}

/** @internal */
export class AddonStream {
  private closed = false
  private eofSent = false
  private eof = false
  private failure: BrokenResourceError | undefined = undefined
  private writing = false
  private pending: Uint8Array = new Uint8Array(0)
  private pendingFds: Array<number> = []
  private readonly watcher: FdWatcher

  constructor(private readonly addon: Addon, readonly fd: number) {
    this.watcher = new FdWatcher(addon, fd)
  }

  private receiveCheck(): ClosedResourceError | BrokenResourceError | undefined {
    if (this.closed) return new ClosedResourceError({ operation: "receive" })
    if (this.failure) return this.failure
    return undefined
  }

  private fillWith(read: () => Fill): Effect.Effect<Fill, BrokenResourceError> {
    return Effect.try({
      try: read,
      // A system error breaks the stream for good; a refused message (too many fds) does not.
      catch: (cause) =>
        cause instanceof FdsTruncated ? broken("receiveFds", cause) : (this.failure = broken("receive", cause))
    })
  }

  /** Waits (as the one reader) until `fill` has put something in `pending`, or fails. */
  private awaitData(fill: Effect.Effect<Fill, BrokenResourceError>): Effect.Effect<void, ReceiveError> {
    const loop: Effect.Effect<void, ReceiveError> = Effect.withFiberRuntime((fiber) => {
      const bad = this.receiveCheck()
      if (bad) return Effect.fail(bad)
      if (this.pending.length > 0) return Effect.void
      if (this.eof) return failEndOfStream
      if (this.watcher.readerBusy(fiber)) return Effect.fail(new BusyResourceError({ operation: "reading from" }))
      return Effect.flatMap(fill, (outcome): Effect.Effect<void, ReceiveError> => {
        if (outcome === "data") return Effect.void
        if (outcome === "eof") {
          this.eof = true
          return failEndOfStream
        }
        return waitThenLoop
      })
    })
    const waitThenLoop = Effect.zipRight(this.watcher.waitReadable, loop)
    return loop
  }

  private readonly recvFill = (maxBytes: number): Effect.Effect<Fill, BrokenResourceError> =>
    this.fillWith(() => {
      if (!this.watcher.maybeReadable) return "wait"
      const size = readSize(maxBytes)
      const n = this.addon.recv(this.fd, scratch, 0, size)
      if (n === WOULD_BLOCK) return "wait"
      if (n === 0) return "eof"
      if (n < size) this.watcher.drained()
      this.pending = Buffer.from(scratch.subarray(0, n))
      return "data"
    })

  private takeBytes(maxBytes: number): Uint8Array {
    const out = this.pending.length <= maxBytes ? this.pending : this.pending.subarray(0, maxBytes)
    this.pending = this.pending.subarray(out.length)
    return out
  }

  /** One receive of at most `maxBytes`, built once per size (a receive then allocates no effects). */
  private makeReceive(maxBytes: number): Effect.Effect<Uint8Array, ReceiveError> {
    const invalid = checkMaxBytes(maxBytes)
    if (invalid) return Effect.fail(invalid)
    // The bytes leave `pending` only in the last step, which nothing can interrupt.
    return Effect.zipRight(this.awaitData(this.recvFill(maxBytes)), Effect.sync(() => this.takeBytes(maxBytes)))
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
      const fill = this.fillWith(() => {
        if (!this.watcher.maybeReadable) return "wait"
        const result = this.addon.recvmsg(this.fd, scratch, 0, readSize(msglen), maxfds)
        if (result === null) return "wait"
        if (result.controlTruncated) {
          for (const fd of result.fds) this.addon.close(fd)
          throw new FdsTruncated(maxfds)
        }
        if (result.bytes === 0 && result.fds.length === 0) return "eof"
        this.pending = concat(this.pending, Buffer.from(scratch.subarray(0, result.bytes)))
        this.pendingFds.push(...result.fds)
        return "data"
      })
      return Effect.zipRight(
        this.awaitData(fill),
        Effect.sync(() => [this.takeBytes(msglen), this.pendingFds.splice(0)] as const)
      )
    })

  private sendCheck(): ClosedResourceError | BrokenResourceError | undefined {
    if (this.closed || this.eofSent) return new ClosedResourceError({ operation: "send" })
    if (this.failure) return this.failure
    return undefined
  }

  /** Writes `bytes` from `offset` on, the first write through `first` (plain send or sendmsg). */
  private writeAll(
    bytes: Uint8Array,
    first: ((offset: number) => number) | undefined
  ): Effect.Effect<void, SendError> {
    let offset = 0
    let pendingFirst = first
    const step: Effect.Effect<void, SendError> = Effect.suspend(() => {
      const bad = this.sendCheck()
      if (bad) return Effect.fail(bad)
      try {
        while (offset < bytes.length) {
          const n = pendingFirst
            ? pendingFirst(offset)
            : this.addon.send(this.fd, bytes, offset, bytes.length - offset)
          if (n === WOULD_BLOCK) return Effect.zipRight(this.watcher.waitWritable, step)
          pendingFirst = undefined
          offset += n
        }
        return Effect.void
      } catch (cause) {
        this.failure = broken("send", cause)
        return Effect.fail(this.failure)
      }
    })
    return step
  }

  private exclusiveWrite(write: Effect.Effect<void, SendError>): Effect.Effect<void, SendError> {
    if (this.writing) return Effect.fail(new BusyResourceError({ operation: "writing to" }))
    this.writing = true
    return Effect.ensuring(write, Effect.sync(() => (this.writing = false)))
  }

  readonly send = (data: Uint8Array | string): Effect.Effect<void, SendError> =>
    Effect.suspend(() => {
      const bad = this.sendCheck()
      if (bad) return Effect.fail(bad)
      const bytes = toBytes(data)
      return bytes.length === 0 ? Effect.void : this.exclusiveWrite(this.writeAll(bytes, undefined))
    })

  readonly sendFds = (
    message: Uint8Array | string,
    fds: ReadonlyArray<unknown>
  ): Effect.Effect<void, SendError | InvalidArgumentError> =>
    Effect.suspend(() => {
      const bytes = toBytes(message)
      const invalid = checkMessage(bytes)
      if (invalid) return Effect.fail(invalid)
      return Effect.flatMap(resolveFds(this.addon, fds), (numbers) => {
        const bad = this.sendCheck()
        if (bad) return Effect.fail(bad)
        // The fds travel with the first byte; what a partial sendmsg leaves goes out plainly.
        return this.exclusiveWrite(
          this.writeAll(bytes, (offset) =>
            this.addon.sendmsg(this.fd, bytes, offset, bytes.length - offset, numbers, null))
        )
      })
    })

  readonly sendEof: Effect.Effect<void, SendEofError> = Effect.suspend((): Effect.Effect<void, SendEofError> => {
    if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "sendEof" }))
    if (this.eofSent) return Effect.void
    this.eofSent = true
    try {
      this.addon.shutdown(this.fd, 1)
      return Effect.void
    } catch (cause) {
      // The peer is gone already: the stream is over in that direction either way.
      return Effect.fail(broken("sendEof", cause))
    }
  })

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.closed) return
    this.closed = true
    // libuv must forget the fd before the number can be reused.
    this.watcher.close()
    this.addon.close(this.fd)
    for (const fd of this.pendingFds.splice(0)) this.addon.close(fd)
    this.pending = new Uint8Array(0)
  })

  /** Whether the stream still owns its fd (for passing the stream itself as an fd). */
  get isOpen(): boolean {
    return !this.closed
  }
}

/** @internal A UnixStream owning a connected addon socket. */
export const make = (addon: Addon, fd: number): UnixStream => {
  const core = new AddonStream(addon, fd)
  return makeByteStream({
    receive: core.receive,
    send: core.send,
    sendEof: core.sendEof,
    close: core.close,
    receiveFds: core.receiveFds,
    sendFds: core.sendFds,
    attributes: {
      family: "unix" as const,
      localAddress: toUnixAddress(addon.getsockname(fd)),
      remoteAddress: toUnixAddress(safePeerName(addon, fd))
    },
    [OwnedFd]: () => (core.isOpen ? fd : undefined)
  })
}

const safePeerName = (addon: Addon, fd: number): Buffer | null => {
  try {
    return addon.getpeername(fd)
  } catch {
    return null
  }
}

/** @internal The fd one of our streams owns, for passing the stream itself with sendFds. */
export const OwnedFd: unique symbol = Symbol.for("effect-sockets/OwnedFd")
