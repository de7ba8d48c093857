/**
 * Resource settling for the Effect 4 edition's tests (the counting itself is Effect-free:
 * test/helpers/processResources.ts, shared with the Effect 3 edition's tests).
 */
import { Effect } from "effect"
import { countResources, type ResourceCount } from "../../helpers/processResources.js"

/** Polls (every 20 ms, at most `withinMs`) until neither count is above `baseline`; the last count. */
export const settleTo = (baseline: ResourceCount, withinMs: number): Effect.Effect<ResourceCount> =>
  Effect.gen(function*() {
    const deadline = Date.now() + withinMs
    let now = countResources()
    while ((now.fds > baseline.fds || now.handles > baseline.handles) && Date.now() < deadline) {
      yield* Effect.sleep("20 millis")
      now = countResources()
    }
    return now
  })
