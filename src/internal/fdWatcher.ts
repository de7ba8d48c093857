/**
 * @internal
 * Readiness of one addon-owned fd, from libuv (`uv_poll_t`, level-triggered).
 *
 * A direction is watched from the first wait on it until a readiness report finds nobody
 * waiting: a ping-pong keeps its poller running instead of starting and stopping it (a syscall
 * each) on every message, and an idle socket stops being polled after one report.
 * `maybeReadable` lets a reader skip a syscall it knows would find nothing.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type { Addon, Poller } from "./addon.js"
import { Signal } from "./signal.js"

/** @internal */
export class FdWatcher {
  private readonly poller: Poller
  private watchingRead = false
  private watchingWrite = false
  private closed = false
  private readonly readable = new Signal(() => this.closed || this.maybeReadable)
  private readonly writable = new Signal(() => this.closed || this.maybeWritable)
  /**
   * False from a reader finding the socket empty (or drained by a short read) until the next
   * readiness report: a read would then most likely find nothing, and the reader waits for the
   * (level-triggered) report instead.
   */
  maybeReadable = true
  /** A writable report arrived since the writer last started waiting. */
  private maybeWritable = false

  constructor(addon: Addon, readonly fd: number) {
    this.poller = new addon.Poller(fd, (error, readable, writable) => {
      // An error (libuv reports a pending socket error and stops polling): wake every waiter;
      // its next syscall reports the real error.
      if (error !== 0) {
        this.watchingRead = this.watchingWrite = false
        this.maybeReadable = this.maybeWritable = true
        this.readable.wake()
        this.writable.wake()
        return
      }
      if (readable) {
        this.maybeReadable = true
        if (this.readable.hasWaiter) this.readable.wake()
        else this.watchingRead = false
      }
      if (writable) {
        this.maybeWritable = true
        if (this.writable.hasWaiter) this.writable.wake()
        else this.watchingWrite = false
      }
      if ((readable && !this.watchingRead) || (writable && !this.watchingWrite)) this.update()
    })
  }

  private update(): void {
    if (this.closed) return
    if (this.watchingRead || this.watchingWrite) this.poller.start(this.watchingRead, this.watchingWrite)
    else this.poller.stop()
  }

  /**
   * A stream read returned less than it asked for: the socket is most likely empty now, so the
   * next read waits for a report instead of spending a syscall on EAGAIN (level-triggered
   * polling reports anything that is left).
   */
  drained(): void {
    this.maybeReadable = false
  }

  /**
   * Waits for a readiness report. Call it only after finding the fd empty (EAGAIN): until the
   * report, a reader may skip the syscall. The poller is level-triggered, so bytes that
   * arrived since are reported as soon as it runs.
   */
  readonly waitReadable: Effect.Effect<void> = Effect.suspend(() => {
    this.maybeReadable = false
    if (!this.watchingRead && !this.closed) {
      this.watchingRead = true
      this.update()
    }
    return this.readable.wait
  })

  readonly waitWritable: Effect.Effect<void> = Effect.suspend(() => {
    this.maybeWritable = false
    if (!this.watchingWrite && !this.closed) {
      this.watchingWrite = true
      this.update()
    }
    return this.writable.wait
  })

  /** Whether a fiber other than `current` waits to read (the one-reader rule). */
  readerBusy(current: Fiber.RuntimeFiber<unknown, unknown>): boolean {
    return this.readable.isBusy(current)
  }

  /** Stops watching and wakes every waiter; the fd may be closed after this. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.poller.close()
    this.readable.wake()
    this.writable.wake()
  }
}
