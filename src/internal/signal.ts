/** @internal */
import * as Effect from "effect/Effect"

/**
 * @internal
 * A one-waiter wake-up: a fiber parks in `wait` until `wake` is called. Waking carries no data,
 * so the woken fiber re-reads the state itself, and an interrupted waiter consumes nothing.
 *
 * A wake with nobody waiting is remembered: the runtime may yield between a fiber's check of
 * the state and its call to `wait`, and an event in that gap must not be lost. The cost is at
 * most one spurious wake-up, after which the waiter checks the state again.
 */
export class Signal {
  private waiter: (() => void) | undefined = undefined
  private pending = false

  /** Whether a fiber is parked in `wait` (the one-reader rule: a second one is busy). */
  get isWaiting(): boolean {
    return this.waiter !== undefined
  }

  readonly wait: Effect.Effect<void> = Effect.suspend(() => {
    if (this.pending) {
      this.pending = false
      return Effect.void
    }
    return Effect.async<void>((resume) => {
      this.waiter = () => resume(Effect.void)
      return Effect.sync(() => {
        this.waiter = undefined
      })
    })
  })

  wake(): void {
    const waiter = this.waiter
    if (waiter === undefined) {
      this.pending = true
      return
    }
    this.waiter = undefined
    waiter()
  }
}
