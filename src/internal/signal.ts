/** @internal */
import * as Effect from "effect/Effect"

/**
 * @internal
 * A one-waiter wake-up: a fiber parks in `wait` until `wake` is called. Waking carries no data,
 * so the woken fiber reads the state itself; an interrupted waiter consumes nothing.
 */
export class Signal {
  private waiter: (() => void) | undefined = undefined

  get waiting(): boolean {
    return this.waiter !== undefined
  }

  readonly wait: Effect.Effect<void> = Effect.async<void>((resume) => {
    this.waiter = () => resume(Effect.void)
    return Effect.sync(() => {
      this.waiter = undefined
    })
  })

  wake(): void {
    const waiter = this.waiter
    if (waiter !== undefined) {
      this.waiter = undefined
      waiter()
    }
  }
}
