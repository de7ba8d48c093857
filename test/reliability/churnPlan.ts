/**
 * The churn test's plain data, shared by both editions' churn tests (no Effect import): the
 * RELIABILITY_SCALE knob and seed, a seeded PRNG, the per-cycle plan (which phase is interrupted,
 * after how many event-loop turns, and the payload) and the tallies a run prints.
 */

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

/** The fraction of churn cycles interrupted at a random point. */
export const INTERRUPTED_FRACTION = 0.3

export type Phase = "connect" | "handshake" | "send" | "receive" | "close"

export interface Plan {
  /** The phase interrupted in this cycle, if any. */
  readonly phase: Phase | undefined
  /** Event-loop turns between starting that phase and interrupting it. */
  readonly turns: number
  readonly payload: Uint8Array
}

/**
 * The plan of cycle `index`, derived from the seed alone (made when the cycle starts, so that
 * the plans themselves are no memory the test holds while it measures).
 */
export const planOf = (index: number, phases: ReadonlyArray<Phase>, seed: number, maxPayload: number): Plan => {
  const random = prng((seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0)
  const phase = random.chance(INTERRUPTED_FRACTION) ? random.pick(phases) : undefined
  const payload = new Uint8Array(8 + random.int(maxPayload - 7))
  // Its length (the stream echo server's framing) and the cycle's number first, the rest
  // pseudo-random: an echo meant for another cycle cannot pass for this one.
  new DataView(payload.buffer).setUint32(0, payload.length)
  new DataView(payload.buffer).setUint32(4, index >>> 0)
  for (let j = 8; j < payload.length; j++) payload[j] = random.int(256)
  return { phase, turns: random.int(5), payload }
}

export interface Stats {
  cycles: number
  /** Cycles that ran every phase to the end (no interrupt landed). */
  completed: number
  /** Interrupts that landed (the phase's fiber ended interrupted), per phase. */
  readonly landed: Record<string, number>
  /** Interrupts that came too late (the phase had already finished), per phase. */
  readonly late: Record<string, number>
  /** Typed failures a cycle ended with (none expected). */
  readonly errors: Record<string, number>
  /** Echoes that were lost or differed from what was sent. */
  mismatches: number
}

export const newStats = (): Stats => ({ cycles: 0, completed: 0, landed: {}, late: {}, errors: {}, mismatches: 0 })
export const bump = (record: Record<string, number>, key: string) => void (record[key] = (record[key] ?? 0) + 1)
export const sum = (record: Record<string, number>) => Object.values(record).reduce((a, b) => a + b, 0)
export const same = (a: Uint8Array, b: Uint8Array) => Buffer.from(a).equals(Buffer.from(b))

/** Prints one line of figures: `[reliability] <test>: key=value …`. */
export const report = (test: string, figures: Record<string, unknown>): void => {
  const parts = Object.entries(figures).map(([key, value]) =>
    `${key}=${typeof value === "object" && value !== null ? JSON.stringify(value) : String(value)}`
  )
  console.log(`[reliability] ${test}: ${parts.join(" ")}`)
}
