/**
 * Resource accounting for the reliability suite, on top of `test/helpers/resources.ts` (open
 * fds, active handles, `settleTo`): memory (RSS and, after a forced GC, the V8 heap), the fibers
 * a test started (`Supervisor.track`), the process's fd limit, a seeded PRNG, the
 * RELIABILITY_SCALE knob, and `report`, which prints one line of figures per test.
 */
import { expect } from "@effect/vitest"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Supervisor from "effect/Supervisor"
import * as fs from "node:fs"
import { fdKinds, gc, handleKinds } from "../helpers/processResources.js"
import { countResources, type ResourceCount, settleTo } from "../helpers/resources.js"
import { report } from "./churnPlan.js"

export {
  activeHandles,
  connectRaw,
  connectRawPathUnscoped,
  connectRawUnscoped,
  countResources,
  openFds,
  RawPeer,
  type ResourceCount,
  settleTo
} from "../helpers/resources.js"
export { report } from "./churnPlan.js"

// ---------------------------------------------------------------------------------------------
// Scale, seeds and memory (plain modules, shared with the Effect 4 edition's churn test)

export { fdKinds, gc, handleKinds, MiB, mib } from "../helpers/processResources.js"
export { prng, SCALE, scaled, SEED } from "./churnPlan.js"

export interface MemorySample {
  readonly rss: number
  readonly heapUsed: number
  readonly external: number
}

/** RSS and heap after a full GC (a few rounds, with I/O turns between for finalizers). */
export const memoryAfterGc: Effect.Effect<MemorySample> = Effect.gen(function*() {
  for (let i = 0; i < 3; i++) {
    gc()
    yield* turns(1)
  }
  const usage = process.memoryUsage()
  return { rss: usage.rss, heapUsed: usage.heapUsed, external: usage.external + usage.arrayBuffers }
})

// ---------------------------------------------------------------------------------------------
// Event-loop turns

/** Lets the event loop run `n` times (I/O callbacks included): a latch finer than any sleep. */
export const turns = (n: number): Effect.Effect<void> =>
  Effect.gen(function*() {
    for (let i = 0; i < n; i++) yield* Effect.async<void>((resume) => void setImmediate(() => resume(Effect.void)))
  })

// ---------------------------------------------------------------------------------------------
// Fibers we started

export interface FiberTracker {
  /** Runs `self` so that every fiber it forks (directly or not) is tracked. */
  readonly supervised: <A, E, R>(self: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
  /** How many tracked fibers are still alive. */
  readonly live: Effect.Effect<number>
  /** Polls (every 10 ms, at most `within`) until no tracked fiber is alive; the last count. */
  readonly settle: (within?: Duration.DurationInput) => Effect.Effect<number>
}

/** A `Supervisor.track` over the fibers a test forks: it forgets each fiber once it ends. */
export const trackFibers: Effect.Effect<FiberTracker> = Effect.map(Supervisor.track, (supervisor) => {
  const live = Effect.map(supervisor.value, (fibers) => fibers.length)
  return {
    supervised: (self) => Effect.supervised(self, supervisor),
    live,
    settle: (within = "2 seconds") =>
      Effect.gen(function*() {
        const deadline = Date.now() + Duration.toMillis(within)
        let count = yield* live
        while (count > 0 && Date.now() < deadline) {
          yield* Effect.sleep("10 millis")
          count = yield* live
        }
        return count
      })
  }
})

// ---------------------------------------------------------------------------------------------
// Limits and diagnostics

/** The soft limit on open files of this process (`/proc/self/limits`). */
export const fdLimit = (): number => {
  const line = fs.readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith("Max open files"))
  const soft = line?.split(/\s{2,}/)[1]
  return soft === undefined || soft === "unlimited" ? Number.POSITIVE_INFINITY : Number(soft)
}

// ---------------------------------------------------------------------------------------------
// Reporting and assertions

/**
 * Waits (at most `within`) for fds and handles to fall back to `baseline`, prints them, and
 * asserts they did; on failure the message lists what is still open.
 */
export const expectBackToBaseline = (
  test: string,
  baseline: ResourceCount,
  within: Duration.DurationInput = "2 seconds",
  extra: Record<string, unknown> = {}
): Effect.Effect<ResourceCount> =>
  Effect.gen(function*() {
    const started = Date.now()
    const after = yield* settleTo(baseline, within)
    report(test, {
      fdsBefore: baseline.fds,
      fdsAfter: after.fds,
      handlesBefore: baseline.handles,
      handlesAfter: after.handles,
      settledMs: Date.now() - started,
      ...extra
    })
    const detail = after.fds > baseline.fds || after.handles > baseline.handles
      ? ` (open fds: ${JSON.stringify(fdKinds())}; handles: ${JSON.stringify(handleKinds())})`
      : ""
    expect(after.fds, `${test}: fds back to baseline${detail}`).toBeLessThanOrEqual(baseline.fds)
    expect(after.handles, `${test}: handles back to baseline${detail}`).toBeLessThanOrEqual(baseline.handles)
    return after
  })

/** The current fd and handle counts (re-exported name for symmetry with `expectBackToBaseline`). */
export const baseline = (): ResourceCount => countResources()
