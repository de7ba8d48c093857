/**
 * @internal
 * Effect layer of fd readiness: fibers park on a Signal per direction until the driver's
 * poller reports (see `driver/fdPoller.ts`).
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { Addon } from "./driver/addon.js"
import { FdPoller } from "./driver/fdPoller.js"
import { Signal } from "./signal.js"

const wakeIfWaiting = (signal: Signal): boolean => {
  if (!signal.hasWaiter) return false
  signal.wake()
  return true
}

/** @internal */
export class FdWatcher {
  readonly poller: FdPoller
  private readonly readable: Signal
  private readonly writable: Signal

  constructor(addon: Addon, fd: number) {
    const readable: Signal = new Signal(() => poller.closed || poller.maybeReadable)
    const writable: Signal = new Signal(() => poller.closed || poller.maybeWritable)
    const poller: FdPoller = new FdPoller(addon, fd, {
      readable: () => wakeIfWaiting(readable),
      writable: () => wakeIfWaiting(writable),
      error: () => {
        readable.wake()
        writable.wake()
      }
    })
    this.poller = poller
    this.readable = readable
    this.writable = writable
    this.waitReadable = this.waitReadableThen(Effect.void)
    this.waitWritable = this.waitWritableThen(Effect.void)
  }

  /** Whether a read might find something (false: wait for a report instead of a syscall). */
  get maybeReadable(): boolean {
    return this.poller.maybeReadable
  }

  /** A short read: the socket is most likely empty now. */
  drained(): void {
    this.poller.drained()
  }

  /**
   * Waits for a readiness report. Call it only after finding the fd empty (EAGAIN): the poller
   * is level-triggered, so bytes that arrived since are reported as soon as it runs.
   */
  readonly waitReadable: Effect.Effect<void>

  readonly waitWritable: Effect.Effect<void>

  /** `waitReadable`, then `next`, in fewer steps than `Effect.zipRight`; build it once. */
  waitReadableThen<A, E>(next: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.readable.waitThen(next, () => this.poller.watchReadable())
  }

  /** `waitWritable`, then `next`; build it once. */
  waitWritableThen<A, E>(next: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return this.writable.waitThen(next, () => this.poller.watchWritable())
  }

  /** Whether a fiber other than `current` waits to read (the one-reader rule). */
  readerBusy(current: Fiber.RuntimeFiber<unknown, unknown>): boolean {
    return this.readable.isBusy(current)
  }

  /** Stops watching and wakes every waiter; the fd may be closed after this. */
  close(): void {
    if (this.poller.closed) return
    this.poller.close()
    this.readable.wake()
    this.writable.wake()
  }
}
