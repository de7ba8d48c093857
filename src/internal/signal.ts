/** @internal */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { BusyResourceError } from "../NetError.js"

/** @internal The one-reader (or one-writer) rule's failure. */
export const failBusy = (operation: BusyResourceError["operation"]): Effect.Effect<never, BusyResourceError> =>
  Effect.failSync(() => new BusyResourceError({ operation }))

/**
 * @internal
 * A one-waiter wake-up: a fiber parks in `wait` until `wake` is called. Waking carries no data,
 * so the woken fiber re-reads its owner's state, and an interrupted waiter consumes nothing.
 *
 * `ready` is the owner's "something to look at" test. It is asked again at the moment of
 * parking, so an event between the owner's check and the park (the runtime may yield there)
 * is never lost.
 *
 * The park registers no interruption canceler: in Effect 3 a canceler wraps every wait in an
 * `onInterrupt` region that costs more than the wait itself (about 2.3 µs of 3.5 µs per park,
 * measured). An interrupted waiter therefore leaves a stale resume behind, which is harmless
 * (the runtime ignores a second resume) and which `isBusy` recognises by its fiber having ended.
 */
export class Signal {
  private resume: ((effect: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  private fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined = undefined

  constructor(private readonly ready: () => boolean) {}

  /** Whether a fiber may be parked here (possibly one that was interrupted since). */
  get hasWaiter(): boolean {
    return this.resume !== undefined
  }

  /** Whether a fiber that has not ended may be parked here (whoever it is). */
  get hasLiveWaiter(): boolean {
    return this.resume !== undefined && this.fiber !== undefined && this.fiber.unsafePoll() === null
  }

  /**
   * Whether a fiber other than `current` is parked here (the one-reader rule). A waiter counts
   * until its fiber ends: interrupted while parked, it leaves the wait at once and ends after
   * its finalizers (`Fiber.interrupt`, `Effect.timeout` and races wait for that); parked
   * uninterruptibly, it still owns the wait (its receive completes, its send learns its own
   * write's fate).
   */
  isBusy(current: Fiber.RuntimeFiber<unknown, unknown>): boolean {
    return this.fiber !== current && this.hasLiveWaiter
  }

  /**
   * What the parked fiber runs once woken: its own next step (`waitThen`), so waking needs no
   * `Effect.void` and continuation of its own (two steps fewer per park), or `Effect.void`.
   */
  private next: Effect.Effect<unknown, unknown> = Effect.void

  private readonly park: Effect.Effect<unknown, unknown> = Effect.async<unknown, unknown>((resume) => {
    if (this.ready()) {
      resume(this.next)
    } else {
      // Whoever parked here before is gone (or is this fiber): its resume is a no-op, but
      // calling it keeps a waiter that was not gone from being stranded.
      const previous = this.resume
      this.resume = resume
      previous?.(Effect.void)
    }
  })

  /** Parks until `wake` (at once if `ready()` holds). */
  readonly wait: Effect.Effect<void> = this.waitThen(Effect.void)

  /**
   * Parks until `wake` (at once if `ready()` holds), then runs `next`: the same as
   * `Effect.zipRight(wait, next)` in fewer steps. `before` runs first, in the same step (e.g. to
   * start watching an fd). Build it once and reuse it: it allocates nothing per wait.
   */
  waitThen<A, E>(next: Effect.Effect<A, E>, before?: () => void): Effect.Effect<A, E> {
    return Effect.withFiberRuntime((fiber) => {
      before?.()
      this.fiber = fiber
      this.next = next
      return this.park as Effect.Effect<A, E>
    })
  }

  /** Like `wait`, but fails with `BusyResourceError` when another fiber is parked here. */
  waitExclusive(operation: BusyResourceError["operation"]): Effect.Effect<void, BusyResourceError> {
    return this.waitExclusiveThen(operation, Effect.void)
  }

  /** Like `waitThen`, but fails with `BusyResourceError` when another fiber is parked here. */
  waitExclusiveThen<A, E>(
    operation: BusyResourceError["operation"],
    next: Effect.Effect<A, E>
  ): Effect.Effect<A, E | BusyResourceError> {
    const busy = failBusy(operation)
    return Effect.withFiberRuntime((fiber) => {
      if (this.isBusy(fiber)) return busy
      this.fiber = fiber
      this.next = next
      return this.park as Effect.Effect<A, E>
    })
  }

  wake(): void {
    const resume = this.resume
    if (resume === undefined) return
    this.resume = undefined
    this.fiber = undefined
    resume(this.next)
  }
}
