/**
 * @internal
 * The Effect 4 edition's fd readiness: fibers park on a Signal per direction until the driver's
 * poller reports (see `driver/fdPoller.ts`).
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { Addon } from "../../internal/driver/addon.js"
import { FdPoller } from "../../internal/driver/fdPoller.js"
import { Signal } from "./signal.js"

/** @internal */
export class FdWatcher {
  readonly poller: FdPoller
  private readonly readable: Signal
  private readonly writable: Signal

  constructor(addon: Addon, fd: number) {
    const readable: Signal = new Signal(() => poller.closed || poller.maybeReadable)
    const writable: Signal = new Signal(() => poller.closed || poller.maybeWritable)
    const poller: FdPoller = new FdPoller(addon, fd, {
      readable: () => readable.wakeSoon(),
      writable: () => writable.wakeSoon(),
      error: () => {
        readable.wake()
        writable.wake()
      }
    })
    this.poller = poller
    this.readable = readable
    this.writable = writable
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
  readonly waitReadable: Effect.Effect<void> = Effect.suspend(() => {
    this.poller.watchReadable()
    return this.readable.wait
  })

  readonly waitWritable: Effect.Effect<void> = Effect.suspend(() => {
    this.poller.watchWritable()
    return this.writable.wait
  })

  /** Whether a fiber other than `current` waits to read (the one-reader rule). */
  readerBusy(current: Fiber.Fiber<unknown, unknown>): boolean {
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
