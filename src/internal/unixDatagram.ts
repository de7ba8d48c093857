/**
 * @internal
 * Effect layer of UNIX datagram sockets: the one-reader rule, parking on readiness and typed
 * errors over `driver/unixDatagram.ts`.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import type { DatagramReceiveError, DatagramSendError } from "../Datagram/index.js"
import { InvalidArgumentError, type ListenError, type UnsupportedError } from "../NetError.js"
import type { Addon } from "./driver/addon.js"
import * as driver from "./driver/unixDatagram.js"
import type { ProbeResult } from "./driver/unixPath.js"
import { broken, closed, listenFailed } from "./errors.js"
import { FdWatcher } from "./fdWatcher.js"
import { loadAddon } from "./native.js"
import { failBusy } from "./signal.js"
import { Traffic } from "./telemetry.js"
import { clearStale, describePath, toPathBytes } from "./unixPath.js"
import { checkMode, checkOptions, checkPositiveInt } from "./validate.js"

/** A sender whose receiver's queue is full gets EAGAIN; poll cannot tell when it drains. */
const FULL_QUEUE_RETRY = "1 millis"

const busyReading = failBusy("reading from")

/** Is a socket bound at this path? */
const probe = (addon: Addon) => (path: Buffer): Effect.Effect<ProbeResult> =>
  Effect.sync(() => driver.probe(addon, path))

/** @internal */
export class DatagramCore {
  readonly watcher: FdWatcher
  readonly driver: driver.UnixDatagramDriver
  /** Bytes in and out, flushed into the counters at close (telemetry.ts). */
  readonly traffic = new Traffic("unix", undefined)

  constructor(addon: Addon, fd: number, maxDatagramSize: number) {
    this.watcher = new FdWatcher(addon, fd)
    this.driver = new driver.UnixDatagramDriver(addon, fd, this.watcher.poller, maxDatagramSize)
  }

  /**
   * The next datagram, shaped by `shape` in the final step, which nothing can interrupt: the
   * datagram leaves `pending` only there.
   */
  receive<A>(shape: (payload: Uint8Array, sender: Buffer | null) => A): Effect.Effect<A, DatagramReceiveError> {
    const d = this.driver
    const loop: Effect.Effect<A, DatagramReceiveError> = Effect.withFiberRuntime(
      (fiber): Effect.Effect<A, DatagramReceiveError> => {
        if (d.closed) return Effect.fail(closed("receive"))
        if (this.watcher.readerBusy(fiber)) return busyReading
        if (d.pending === undefined) {
          let filled: boolean
          try {
            filled = d.fill()
          } catch (cause) {
            return Effect.fail(broken("receive", cause))
          }
          if (!filled) return waitThenLoop
        }
        return Effect.suspend(() => {
          // Another reader may have taken it since (the runtime may yield between the steps).
          if (d.pending === undefined) return loop
          const [payload, sender] = d.pending
          d.pending = undefined
          this.traffic.addReceived(payload.length)
          return Effect.succeed(shape(payload, sender))
        })
      }
    )
    const waitThenLoop = Effect.zipRight(this.watcher.waitReadable, loop)
    return loop
  }

  /** Sends one datagram; a failure belongs to this datagram only. */
  send(bytes: Uint8Array, path: Buffer | null): Effect.Effect<void, DatagramSendError> {
    const attempt: Effect.Effect<void, DatagramSendError> = Effect.suspend(() => {
      if (this.driver.closed) return Effect.fail(closed("send"))
      try {
        if (this.driver.send(bytes, path)) {
          this.traffic.addSent(bytes.length)
          return Effect.void
        }
        return Effect.zipRight(Effect.sleep(FULL_QUEUE_RETRY), attempt)
      } catch (cause) {
        return Effect.fail(broken("send", cause))
      }
    })
    return attempt
  }

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.driver.closed) return
    this.traffic.close()
    this.watcher.close()
    this.driver.close()
  })
}

/** The largest `maxDatagramSize` (the kernel's own limit is the socket buffer, far below it). */
const MAX_DATAGRAM_SIZE = 16 * 1024 * 1024

/** @internal Options `open` needs (those of `UnixDatagramOptions`). */
export interface OpenOptions {
  readonly localPath?: string | Uint8Array
  readonly localMode?: number
  readonly autobind?: boolean
  readonly maxDatagramSize?: number
}

/** @internal Creates the fd and binds it as asked (replacing a stale socket file); the core owns the fd. */
export const open = (
  operation: string,
  options: OpenOptions
): Effect.Effect<DatagramCore, ListenError | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    yield* checkOptions(options)
    const addon = yield* loadAddon(operation)
    const maxDatagramSize = options.maxDatagramSize ?? 65536
    yield* checkPositiveInt(maxDatagramSize, "maxDatagramSize")
    if (maxDatagramSize > MAX_DATAGRAM_SIZE) {
      return yield* Effect.fail(
        new InvalidArgumentError({ argument: "maxDatagramSize", why: `must be at most ${MAX_DATAGRAM_SIZE} bytes` })
      )
    }
    yield* checkMode(options.localMode, "localMode")
    const local = options.localPath === undefined ? undefined : yield* toPathBytes(options.localPath, "localPath")
    if (local) yield* clearStale(local, probe(addon))
    return yield* Effect.acquireRelease(
      Effect.try({
        try: () => {
          const fd = driver.open(addon, local, { mode: options.localMode, autobind: options.autobind })
          // Last: the core owns the fd (and its poller) from here on.
          return new DatagramCore(addon, fd, maxDatagramSize)
        },
        catch: (cause) => listenFailed(local ? describePath(local) : "(unnamed)", cause)
      }),
      (core) => core.close
    )
  })
