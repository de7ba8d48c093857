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
import { type BrokenResourceError, type BusyResourceError, ClosedResourceError } from "../NetError.js"
import { Signal } from "./signal.js"

type TakeError = ClosedResourceError | BusyResourceError | BrokenResourceError

/** @internal The most datagrams one stream pull takes. */
export const MAX_BATCH = 1024

/** @internal */
export class DatagramQueue<A> {
  private readonly items: Array<A> = []
  private head = 0
  private closed = false
  private pendingError: BrokenResourceError | undefined = undefined
  private readonly ready = new Signal(() => this.closed || this.size > 0 || this.pendingError !== undefined)
  private readonly readyWait = this.ready.waitExclusive("reading from")
  dropped = 0

  constructor(readonly capacity: number) {}

  get size(): number {
    return this.items.length - this.head
  }

  offer(item: A): void {
    if (this.closed) return
    if (this.size >= this.capacity) {
      this.head++
      this.dropped++
    }
    this.items.push(item)
    // Compact now and then so the array does not grow with the drop count.
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items.splice(0, this.head)
      this.head = 0
    }
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
  readonly take: Effect.Effect<A, TakeError> = Effect.suspend(() => this.next(() => this.shift()))

  /** Every datagram waiting (at least one, at most `MAX_BATCH`), oldest first. */
  readonly takeBatch: Effect.Effect<NonEmptyReadonlyArray<A>, TakeError> = Effect.suspend(() =>
    this.next(() => {
      const batch: [A, ...Array<A>] = [this.shift()]
      while (this.size > 0 && batch.length < MAX_BATCH) batch.push(this.shift())
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

  private shift(): A {
    const item = this.items[this.head]!
    this.items[this.head++] = undefined as unknown as A
    if (this.head === this.items.length) {
      this.items.length = 0
      this.head = 0
    }
    return item
  }

  close(): void {
    this.closed = true
    this.ready.wake()
  }
}
