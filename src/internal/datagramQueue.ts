/**
 * @internal
 * The receive queue of a push-based datagram socket (`node:dgram` delivers every datagram as
 * an event and cannot be paused): bounded, dropping the oldest datagram when full and counting
 * the drops, with one receiver at a time. Errors the socket reports asynchronously (ICMP
 * "port unreachable" on a connected socket) are kept once and handed to the next operation.
 */
import * as Effect from "effect/Effect"
import { type BrokenResourceError, type BusyResourceError, ClosedResourceError } from "../NetError.js"
import { Fifo } from "./driver/fifo.js"
import { Signal } from "./signal.js"

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
    this.ready.wake()
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

  readonly take: Effect.Effect<A, ClosedResourceError | BusyResourceError | BrokenResourceError> = Effect.suspend(
    (): Effect.Effect<A, ClosedResourceError | BusyResourceError | BrokenResourceError> => {
      if (this.closed) return Effect.fail(new ClosedResourceError({ operation: "receive" }))
      const error = this.takeError()
      if (error) return Effect.fail(error)
      // The datagram leaves the queue in this last synchronous step: an interrupted receive loses nothing.
      if (this.size > 0) return this.takeOne
      return Effect.zipRight(this.readyWait, this.take)
    }
  )

  /** The final step; another reader may have emptied the queue since `take` looked. */
  private readonly takeOne: Effect.Effect<A, ClosedResourceError | BusyResourceError | BrokenResourceError> = Effect
    .suspend(() => (this.size > 0 ? Effect.succeed(this.items.shift()) : this.take))

  close(): void {
    // The items stay: a receive between its check and its final step still finds its datagram.
    this.closed = true
    this.ready.wake()
  }
}
