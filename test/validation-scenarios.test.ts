/**
 * The shared bad-argument table (test/scenarios/validation.ts) on the Effect 3 edition: each
 * case fails with the expected error before any I/O (the Effect 4 edition runs the same table).
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Listener, Socket } from "../src/index.js"
import { validationCases } from "./scenarios/validation.js"

const calls = {
  connectTcp: (args: ReadonlyArray<unknown>) =>
    (Socket.connectTcp as (...a: Array<unknown>) => Effect.Effect<unknown, unknown, any>)(...args),
  createTcpListener: (args: ReadonlyArray<unknown>) =>
    (Listener.createTcpListener as (...a: Array<unknown>) => Effect.Effect<unknown, unknown, any>)(...args)
}

describe("shared validation scenarios (Effect 3)", () => {
  for (const scenario of validationCases) {
    it.scoped(`${scenario.call}: ${scenario.name}`, () =>
      Effect.gen(function*() {
        const error = yield* Effect.flip(calls[scenario.call](scenario.args))
        expect(error).toMatchObject(scenario.expected)
      }))
  }
})
