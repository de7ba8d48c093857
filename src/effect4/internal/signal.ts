/**
 * @internal
 * A one-waiter wake-up for the Effect 4 edition: a fiber parks in `wait` (`Effect.callback`)
 * until `wake` is called. Waking carries no data, so the woken fiber re-reads its owner's state,
 * and an interrupted waiter consumes nothing. `ready` is asked again at the moment of parking,
 * so an event between the owner's check and the park is never lost.
 */
import * as Effect from "effect/Effect"
import type * as Fiber from "effect/Fiber"
import { BusyResourceError } from "../NetError.js"

/** @internal The one-reader (or one-writer) rule's failure. */
export const failBusy = (operation: BusyResourceError["operation"]): Effect.Effect<never, BusyResourceError> =>
  Effect.failSync(() => new BusyResourceError({ operation }))

/** @internal */
export class Signal {
  private resume: ((effect: Effect.Effect<unknown, unknown>) => void) | undefined = undefined
  private fiber: Fiber.Fiber<unknown, unknown> | undefined = undefined

  constructor(private readonly ready: () => boolean) {}

  /** Whether a fiber may be parked here (possibly one that was interrupted since). */
  get hasWaiter(): boolean {
    return this.resume !== undefined
  }

  /** Whether a fiber that has not ended may be parked here (whoever it is). */
  get hasLiveWaiter(): boolean {
    return this.resume !== undefined && this.fiber !== undefined && this.fiber.pollUnsafe() === undefined
  }

  /** Whether a fiber other than `current` is parked here and still alive (the one-reader rule). */
  isBusy(current: Fiber.Fiber<unknown, unknown>): boolean {
    return this.fiber !== current && this.hasLiveWaiter
  }

  /**
   * What the parked fiber runs once woken: its own next step (`waitThen`), so waking needs no
   * `Effect.void` and continuation of its own (two steps fewer per park), or `Effect.void`.
   */
  private next: Effect.Effect<unknown, unknown> = Effect.void

  private readonly park: Effect.Effect<unknown, unknown> = Effect.callback<unknown, unknown>((resume) => {
    if (this.ready()) {
      resume(this.next)
    } else {
      // Whoever parked here before is gone (or is this fiber): its resume is a no-op.
      const previous = this.resume
      this.resume = resume
      previous?.(Effect.void)
    }
  })

  /** Parks until `wake` (at once if `ready()` holds). */
  readonly wait: Effect.Effect<void> = this.waitThen(Effect.void)

  /**
   * Parks until `wake` (at once if `ready()` holds), then runs `next`: the same as
   * `Effect.andThen(wait, next)` in fewer steps. Build it once and reuse it: it allocates
   * nothing per wait.
   */
  waitThen<A, E>(next: Effect.Effect<A, E>): Effect.Effect<A, E> {
    return Effect.withFiber((fiber) => {
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
    return Effect.withFiber<A, E | BusyResourceError>((fiber) => {
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

  /**
   * `wake` from a nextTick, for a caller inside a native callback (a socket's read, an fd's
   * readiness); whether a fiber was parked. Effect 4 resumes a fiber inside
   * `AsyncResource.runInAsyncScope`, and doing that within a native callback leaves Node's
   * async-context stack longer than the callback's own, which Node then truncates on V8's slow
   * property path as the callback returns (about 1 µs per wake-up, measured on the
   * 200-connection serve bench). From a tick, where NodeSocket's 'readable' comes, that is free.
   */
  wakeSoon(): boolean {
    if (this.resume === undefined) return false
    if (!this.wakePending) {
      this.wakePending = true
      process.nextTick(this.wakeFromTick)
    }
    return true
  }

  private wakePending = false
  private readonly wakeFromTick = (): void => {
    this.wakePending = false
    this.wake()
  }
}
