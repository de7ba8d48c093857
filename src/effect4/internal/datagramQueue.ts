/**
 * @internal
 * The receive queue of a push-based datagram socket (`node:dgram` delivers every datagram as
 * an event and cannot be paused): bounded, dropping the oldest datagram when full and counting
 * the drops, with one receiver at a time. Errors the socket reports asynchronously (ICMP
 * "port unreachable" on a connected socket) are kept once and handed to the next operation.
 * The Effect 4 edition of `src/internal/datagramQueue.ts`, plus `takeBatch` for streams.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import { Fifo } from "../../internal/driver/fifo.js"
import { type BrokenResourceError, type BusyResourceError, ClosedResourceError } from "../NetError.js"
import { Signal } from "./signal.js"

type TakeError = ClosedResourceError | BusyResourceError | BrokenResourceError

/** @internal The most datagrams one stream pull takes. */
export const MAX_BATCH = 1024

/** @internal */
export class DatagramQueue<A> {
  private readonly items = new Fifo<A>()
  private closed = false
  private pendingError: BrokenResourceError | undefined = undefined
  private readonly ready = new Signal(() => this.closed || this.size > 0 || this.pendingError !== undefined)
  private readonly readyWait = this.ready.waitExclusive("reading from")
  dropped = 0

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.size
  }

  offer(item: A): void {
    if (this.closed) return
    if (this.size >= this.capacity) {
      this.items.shift()
      this.dropped++
    }
    this.items.push(item)
    this.ready.wakeSoon()
  }

  fail(error: BrokenResourceError): void {
    this.pendingError = error
    this.ready.wake()
  }

  /** The error reported since the last operation, if any (reported once). */
  takeError(): BrokenResourceError | undefined {
    const error = this.pendingError
    this.pendingError = undefined
    return error
  }

  /** The next datagram. */
  readonly take: Effect.Effect<A, TakeError> = Effect.suspend(() => this.next(() => this.items.shift()))

  /** Every datagram waiting (at least one, at most `MAX_BATCH`), oldest first. */
  readonly takeBatch: Effect.Effect<NonEmptyReadonlyArray<A>, TakeError> = Effect.suspend(() =>
    this.next(() => {
      const batch: [A, ...Array<A>] = [this.items.shift()]
      while (this.size > 0 && batch.length < MAX_BATCH) batch.push(this.items.shift())
      return batch
    })
  )

  /**
   * Takes with `takeItems` once something is there. The datagrams leave the queue in that
   * last synchronous step: an interrupted receive loses nothing.
   */
  private next<B>(takeItems: () => B): Effect.Effect<B, TakeError> {
    if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
    const error = this.takeError()
    if (error) return Effect.fail(error)
    if (this.size > 0) return Effect.succeed(takeItems())
    return Effect.andThen(this.readyWait, Effect.suspend(() => this.next(takeItems)))
  }

  close(): void {
    this.closed = true
    this.ready.wake()
  }
}
