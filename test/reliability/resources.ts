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
import * as v8 from "node:v8"
import * as vm from "node:vm"
import { countResources, type ResourceCount, settleTo } from "../helpers/resources.js"

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

// ---------------------------------------------------------------------------------------------
// Scale and seeds

const parseScale = (raw: string | undefined): number => {
  if (raw === undefined || raw === "") return 1
  const value = Number(raw)
  if (!Number.isFinite(value) || value <= 0) throw new Error(`RELIABILITY_SCALE must be a positive number (got ${raw})`)
  return value
}

/** RELIABILITY_SCALE (default 1): multiplies the iteration counts of the heavy tests. */
export const SCALE = parseScale(process.env["RELIABILITY_SCALE"])

/** `n` scaled by RELIABILITY_SCALE, at least 1. */
export const scaled = (n: number): number => Math.max(1, Math.round(n * SCALE))

/** RELIABILITY_SEED (default fixed): the seed of every PRNG and fast-check run in the suite. */
export const SEED = process.env["RELIABILITY_SEED"] === undefined
  ? 0x5eed_0007
  : Number(process.env["RELIABILITY_SEED"])

/** A small seeded PRNG (mulberry32): the same seed gives the same churn plan. */
export const prng = (seed: number) => {
  let state = seed >>> 0
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
  return {
    next,
    /** An integer in [0, n). */
    int: (n: number): number => Math.floor(next() * n),
    chance: (p: number): boolean => next() < p,
    pick: <A>(items: ReadonlyArray<A>): A => items[Math.floor(next() * items.length)]!
  }
}

// ---------------------------------------------------------------------------------------------
// Memory

/** `global.gc`, made available without `--expose-gc` (V8 flag set at run time). */
export const gc: () => void = (() => {
  const existing = (globalThis as { gc?: () => void }).gc
  if (typeof existing === "function") return existing
  v8.setFlagsFromString("--expose-gc")
  return vm.runInNewContext("gc") as () => void
})()

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

export const MiB = 1024 * 1024
export const mib = (bytes: number): string => `${(bytes / MiB).toFixed(1)} MiB`

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

/** What each open fd points to, counted by kind ("socket", "anon_inode:[eventpoll]", a path…). */
export const fdKinds = (): Record<string, number> => {
  const kinds: Record<string, number> = {}
  for (const fd of fs.readdirSync("/proc/self/fd")) {
    let target: string
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`).replace(/:\[\d+\]$/, "")
    } catch {
      continue // the fd used to read the directory itself
    }
    kinds[target] = (kinds[target] ?? 0) + 1
  }
  return kinds
}

/** Active resources by kind (`TCPSocketWrap`, `UDPWrap`, …), timers included. */
export const handleKinds = (): Record<string, number> => {
  const kinds: Record<string, number> = {}
  for (const kind of process.getActiveResourcesInfo()) kinds[kind] = (kinds[kind] ?? 0) + 1
  return kinds
}

// ---------------------------------------------------------------------------------------------
// Reporting and assertions

/** Prints one line of figures: `[reliability] <test>: key=value …`. */
export const report = (test: string, figures: Record<string, unknown>): void => {
  const parts = Object.entries(figures).map(([key, value]) =>
    `${key}=${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`
  )
  console.log(`[reliability] ${test}: ${parts.join(" ")}`)
}

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
