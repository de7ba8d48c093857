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
import type { Addon, Poller } from "./addon.js"
import { Signal } from "./signal.js"

/** @internal */
export class FdWatcher {
  private readonly poller: Poller
  private watchingRead = false
  private watchingWrite = false
  private closed = false
  private readonly readable = new Signal()
  private readonly writable = new Signal()
  /**
   * False only while the read side is watched and nothing was reported since a read found the
   * socket empty: then a read would certainly find nothing again.
   */
  maybeReadable = true

  constructor(addon: Addon, readonly fd: number) {
    this.poller = new addon.Poller(fd, (error, readable, writable) => {
      // An error (libuv reports a pending socket error and stops polling): wake every waiter;
      // its next syscall reports the real error.
      if (error !== 0) {
        this.watchingRead = this.watchingWrite = false
        this.maybeReadable = true
        this.readable.wake()
        this.writable.wake()
        return
      }
      if (readable) {
        this.maybeReadable = true
        if (this.readable.isWaiting) this.readable.wake()
        else this.watchingRead = false
      }
      if (writable) {
        if (this.writable.isWaiting) this.writable.wake()
        else this.watchingWrite = false
      }
      if ((readable && !this.watchingRead) || (writable && !this.watchingWrite)) this.update()
    })
  }

  private update(): void {
    if (this.closed) return
    if (this.watchingRead || this.watchingWrite) this.poller.start(this.watchingRead, this.watchingWrite)
    else this.poller.stop()
    if (!this.watchingRead) this.maybeReadable = true
  }

  /** The reader found the socket empty (EAGAIN). */
  sawEmpty(): void {
    if (this.watchingRead) this.maybeReadable = false
  }

  readonly waitReadable: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.watchingRead && !this.closed) {
      this.watchingRead = true
      this.update()
    }
    return this.readable.wait
  })

  readonly waitWritable: Effect.Effect<void> = Effect.suspend(() => {
    if (!this.watchingWrite && !this.closed) {
      this.watchingWrite = true
      this.update()
    }
    return this.writable.wait
  })

  /** Whether a fiber waits to read (the one-reader rule). */
  get readerWaiting(): boolean {
    return this.readable.isWaiting
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
