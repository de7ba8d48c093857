/**
 * @internal
 * Effect layer of UNIX datagram sockets over `driver/unixDatagram.ts` (the driver both editions
 * share): the one-reader rule, parking on readiness (the edition's FdWatcher), typed errors.
 */
import type { NonEmptyReadonlyArray } from "effect/Array"
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import type * as Scope from "effect/Scope"
import * as rules from "../../internal/argumentRules.js"
import type { Addon } from "../../internal/driver/addon.js"
import * as driver from "../../internal/driver/unixDatagram.js"
import type { DatagramReceiveError, DatagramSendError } from "../Datagram/DatagramSocket.js"
import { InvalidArgumentError, type ListenError, type UnsupportedError } from "../NetError.js"
import { MAX_BATCH } from "./datagramQueue.js"
import { broken, closed, listenFailed } from "./errors.js"
import { FdWatcher } from "./fdWatcher.js"
import { loadAddon } from "./native.js"
import { failBusy } from "./signal.js"
import { Traffic } from "./telemetry.js"
import { clearStale, describePath, toPathBytes } from "./unixPath.js"
import { check, checkOptions, checkPositiveInt } from "./validate.js"

/** A sender whose receiver's queue is full gets EAGAIN; poll cannot tell when it drains. */
const FULL_QUEUE_RETRY = "1 millis"

const busyReading = failBusy("reading from")

/** @internal */
export class DatagramCore {
  readonly watcher: FdWatcher
  readonly driver: driver.UnixDatagramDriver
  /** Bytes in and out, flushed into the counters at close (telemetry.ts). */
  readonly traffic = new Traffic("unix", undefined)
  /**
   * Set before anything is woken at close: Effect 4 runs a woken receiver at once, and it must
   * find the socket closed rather than poll a poller that is gone.
   */
  private closing = false
  /** A receive error met after a batch had begun: the next receive reports it. */
  private deferredError: DatagramReceiveError | undefined = undefined

  constructor(addon: Addon, fd: number, maxDatagramSize: number) {
    this.watcher = new FdWatcher(addon, fd)
    this.driver = new driver.UnixDatagramDriver(addon, fd, this.watcher.poller, maxDatagramSize)
  }

  /**
   * Up to `max` datagrams (at least one), each shaped by `shape` in the final synchronous step,
   * which nothing can interrupt: a datagram leaves the socket only there.
   */
  private take<A>(
    fiber: Fiber.Fiber<unknown, unknown>,
    shape: (payload: Uint8Array, sender: Buffer | null) => A,
    max: number
  ): Effect.Effect<NonEmptyReadonlyArray<A>, DatagramReceiveError> {
    const d = this.driver
    if (this.closing) return Effect.fail(closed("receive"))
    if (this.watcher.readerBusy(fiber)) return busyReading
    if (this.deferredError !== undefined) {
      const error = this.deferredError
      this.deferredError = undefined
      return Effect.fail(error)
    }
    const out: Array<A> = []
    while (out.length < max) {
      if (d.pending === undefined) {
        let filled: boolean
        try {
          filled = d.fill()
        } catch (cause) {
          if (out.length === 0) return Effect.fail(broken("receive", cause))
          this.deferredError = broken("receive", cause)
          break
        }
        if (!filled) break
      }
      const [payload, sender] = d.pending!
      d.pending = undefined
      this.traffic.addReceived(payload.length)
      out.push(shape(payload, sender))
    }
    if (out.length > 0) return Effect.succeed(out as unknown as NonEmptyReadonlyArray<A>)
    return Effect.andThen(this.watcher.waitReadable, Effect.suspend(() => this.take(fiber, shape, max)))
  }

  /** The next datagram, shaped by `shape`. */
  receive<A>(shape: (payload: Uint8Array, sender: Buffer | null) => A): Effect.Effect<A, DatagramReceiveError> {
    return Effect.withFiber((fiber) => Effect.map(this.take(fiber, shape, 1), (batch) => batch[0]))
  }

  /** Every datagram waiting (at least one, at most `MAX_BATCH`), each shaped by `shape`. */
  receiveBatch<A>(
    shape: (payload: Uint8Array, sender: Buffer | null) => A
  ): Effect.Effect<NonEmptyReadonlyArray<A>, DatagramReceiveError> {
    return Effect.withFiber((fiber) => this.take(fiber, shape, MAX_BATCH))
  }

  /** Sends one datagram; a failure belongs to this datagram only. */
  send(bytes: Uint8Array, path: Buffer | null): Effect.Effect<void, DatagramSendError> {
    const attempt: Effect.Effect<void, DatagramSendError> = Effect.suspend(() => {
      if (this.closing) return Effect.fail(closed("send"))
      try {
        if (this.driver.send(bytes, path)) {
          this.traffic.addSent(bytes.length)
          return Effect.void
        }
        return Effect.andThen(Effect.sleep(FULL_QUEUE_RETRY), attempt)
      } catch (cause) {
        return Effect.fail(broken("send", cause))
      }
    })
    return attempt
  }

  readonly close: Effect.Effect<void> = Effect.sync(() => {
    if (this.closing) return
    this.closing = true
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
    yield* check(rules.invalidMode(options.localMode, "localMode"))
    const local = options.localPath === undefined ? undefined : yield* toPathBytes(options.localPath, "localPath")
    if (local) yield* clearStale(local, (path) => Effect.sync(() => driver.probe(addon, path)))
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
