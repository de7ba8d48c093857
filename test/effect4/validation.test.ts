/**
 * The shared bad-argument table (test/scenarios/validation.ts) on the Effect 4 edition: each
 * case fails with the expected error before any I/O, as it does on the Effect 3 edition.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Listener, Socket } from "../../src/effect4/index.js"
import { validationCases } from "../scenarios/validation.js"

type Untyped = (...args: Array<unknown>) => Effect.Effect<unknown, unknown, any>

const calls = {
  connectTcp: (args: ReadonlyArray<unknown>) => (Socket.connectTcp as Untyped)(...args),
  createTcpListener: (args: ReadonlyArray<unknown>) => (Listener.createTcpListener as Untyped)(...args)
}

describe("shared validation scenarios (Effect 4)", () => {
  for (const scenario of validationCases) {
    it.effect(`${scenario.call}: ${scenario.name}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(calls[scenario.call](scenario.args))
        expect(error).toMatchObject(scenario.expected)
      }))
  }
})
