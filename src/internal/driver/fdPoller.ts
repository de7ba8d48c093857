/**
 * @internal
 * Driver: readiness of one addon-owned fd, from libuv (`uv_poll_t`, level-triggered).
 * Effect-free.
 *
 * A direction is watched from the first wait on it until a readiness report finds nobody
 * waiting: a ping-pong keeps its poller running instead of starting and stopping it (a syscall
 * each) on every message, and an idle socket stops being polled after one report.
 */
import type { Addon, Poller } from "./addon.js"

/**
 * @internal
 * Who hears of readiness. Each returns whether somebody was waiting for it (and is now woken):
 * when nobody was, that direction stops being watched.
 */
export interface FdReadiness {
  readonly readable: () => boolean
  readonly writable: () => boolean
  /** A pending socket error (libuv stops polling): everybody looks again, and a syscall tells. */
  readonly error: () => void
}

/** @internal */
export class FdPoller {
  private readonly poller: Poller
  private watchingRead = false
  private watchingWrite = false
  closed = false
  /**
   * False from a reader finding the socket empty (or drained by a short read) until the next
   * readiness report: a read would then most likely find nothing, and the reader waits for the
   * (level-triggered) report instead.
   */
  maybeReadable = true
  /** A writable report arrived since the writer last started waiting. */
  maybeWritable = false

  constructor(addon: Addon, readonly fd: number, readiness: FdReadiness) {
    this.poller = new addon.Poller(fd, (error, readable, writable) => {
      if (error !== 0) {
        this.watchingRead = this.watchingWrite = false
        this.maybeReadable = this.maybeWritable = true
        readiness.error()
        return
      }
      if (readable) {
        this.maybeReadable = true
        if (!readiness.readable()) this.watchingRead = false
      }
      if (writable) {
        this.maybeWritable = true
        if (!readiness.writable()) this.watchingWrite = false
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

  /** Somebody will wait for readability: watch it (until a report finds nobody waiting). */
  watchReadable(): void {
    this.maybeReadable = false
    if (!this.watchingRead && !this.closed) {
      this.watchingRead = true
      this.update()
    }
  }

  /** Somebody will wait for writability. */
  watchWritable(): void {
    this.maybeWritable = false
    if (!this.watchingWrite && !this.closed) {
      this.watchingWrite = true
      this.update()
    }
  }

  /** Stops watching for good; the fd may be closed after this. */
  close(): void {
    if (this.closed) return
    this.closed = true
    this.poller.close()
  }
}
