/**
 * @internal
 * Readiness of one addon-owned fd, from libuv (`uv_poll_t`). The poller watches only what some
 * fiber is waiting for, so an idle socket costs no wake-ups (readiness is level-triggered).
 */
import * as Effect from "effect/Effect"
import type { Addon, Poller } from "./addon.js"
import { Signal } from "./signal.js"

/** @internal */
export class FdWatcher {
  private readonly poller: Poller
  private wantRead = 0
  private wantWrite = 0
  private closed = false
  private readonly readable = new Signal()
  private readonly writable = new Signal()

  constructor(addon: Addon, readonly fd: number) {
    this.poller = new addon.Poller(fd, (error, readable, writable) => {
      // An error (libuv reports a pending socket error and stops polling): wake every waiter;
      // its next syscall reports the real error.
      if (error !== 0 || readable) this.readable.wake()
      if (error !== 0 || writable) this.writable.wake()
    })
  }

  private update(): void {
    if (this.closed) return
    if (this.wantRead > 0 || this.wantWrite > 0) this.poller.start(this.wantRead > 0, this.wantWrite > 0)
    else this.poller.stop()
  }

  private wait(which: "read" | "write"): Effect.Effect<void> {
    return Effect.acquireUseRelease(
      Effect.sync(() => {
        if (which === "read") this.wantRead++
        else this.wantWrite++
        this.update()
      }),
      () => (which === "read" ? this.readable.wait : this.writable.wait),
      () =>
        Effect.sync(() => {
          if (which === "read") this.wantRead--
          else this.wantWrite--
          this.update()
        })
    )
  }

  readonly waitReadable: Effect.Effect<void> = Effect.suspend(() => this.wait("read"))
  readonly waitWritable: Effect.Effect<void> = Effect.suspend(() => this.wait("write"))

  /** Stops watching and wakes every waiter; the fd may be closed after this. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.poller.close()
    this.readable.wake()
    this.writable.wake()
  }
}
