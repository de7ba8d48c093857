/**
 * The stream driver's receive queue (src/internal/driver/fifo.ts) against a plain array doing
 * the same operations: order across the ring's wrap-around and its growth, partial takes
 * (`replaceOldest`) and `takeAll`. Seeded, so a failure replays.
 */
import { describe, expect, it } from "@effect/vitest"
import { Fifo } from "../src/internal/driver/fifo.js"

/** A small deterministic generator (mulberry32): the same operations on every run. */
const random = (seed: number) => () => {
  seed = (seed + 0x6d2b79f5) | 0
  let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
  t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296
}

describe("Fifo", () => {
  it("keeps arrival order through wrap-around, growth, partial takes and takeAll", () => {
    const next = random(20261201)
    const fifo = new Fifo<number>()
    const model: Array<number> = []
    let counter = 0
    for (let step = 0; step < 20_000; step++) {
      const roll = next()
      // Bursts of pushes now and then so the ring grows well past its first 8 slots.
      if (roll < 0.5 || (roll < 0.55 && model.length < 200)) {
        const burst = roll < 0.02 ? 40 : 1
        for (let i = 0; i < burst; i++) {
          fifo.push(counter)
          model.push(counter++)
        }
      } else if (roll < 0.85) {
        if (model.length > 0) {
          expect(fifo.peek()).toBe(model[0])
          expect(fifo.shift()).toBe(model.shift())
        }
      } else if (roll < 0.95) {
        if (model.length > 0) {
          fifo.replaceOldest(-step)
          model[0] = -step
        }
      } else {
        expect(fifo.takeAll()).toEqual(model.splice(0))
      }
      expect(fifo.size).toBe(model.length)
    }
    expect(fifo.takeAll()).toEqual(model)
    expect(fifo.size).toBe(0)
  })

  it("takeAll of an empty queue is an empty array, and the queue works on afterwards", () => {
    const fifo = new Fifo<string>()
    expect(fifo.takeAll()).toEqual([])
    for (let i = 0; i < 20; i++) fifo.push(`chunk ${i}`)
    expect(fifo.shift()).toBe("chunk 0")
    expect(fifo.takeAll()).toEqual(Array.from({ length: 19 }, (_, i) => `chunk ${i + 1}`))
    fifo.push("after")
    expect(fifo.size).toBe(1)
    expect(fifo.shift()).toBe("after")
  })
})
