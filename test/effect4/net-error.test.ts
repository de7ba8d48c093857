/**
 * The Effect 4 edition's NetError: Schema-backed tagged errors with a TypeId (`isNetError`), the
 * same messages as the Effect 3 edition (test/scenarios/netErrors.ts), encoding `cause` as its
 * message and decoding back to the same class.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { NetError } from "../../src/effect4/index.js"
import { netErrorSamples } from "../scenarios/netErrors.js"

const classes: Record<string, new(fields: any) => NetError.NetError> = {
  EndOfStream: NetError.EndOfStream,
  ClosedResourceError: NetError.ClosedResourceError,
  BrokenResourceError: NetError.BrokenResourceError,
  BusyResourceError: NetError.BusyResourceError,
  ConnectError: NetError.ConnectError,
  ResolveError: NetError.ResolveError,
  ListenError: NetError.ListenError,
  IncompleteRead: NetError.IncompleteRead,
  DelimiterNotFound: NetError.DelimiterNotFound,
  UnsupportedError: NetError.UnsupportedError,
  InvalidArgumentError: NetError.InvalidArgumentError,
  TlsError: NetError.TlsError
}
const samples = netErrorSamples.map(({ fields, message, tag }) => ({ error: new classes[tag]!(fields), message, tag }))

const roundTrip = (error: NetError.NetError): NetError.NetError => {
  const encoded = Schema.encodeSync(NetError.NetErrorSchema)(error)
  return Schema.decodeUnknownSync(NetError.NetErrorSchema)(JSON.parse(JSON.stringify(encoded)))
}

describe("NetError (Effect 4)", () => {
  it("every error is a NetError, an Error, a tagged value with the shared message", () => {
    for (const { error, message, tag } of samples) {
      expect(NetError.isNetError(error)).toBe(true)
      expect(error).toBeInstanceOf(Error)
      expect(error._tag).toBe(tag)
      expect(error.message).toBe(message)
    }
    expect(NetError.isNetError(new Error("x"))).toBe(false)
    expect(NetError.isNetError({ _tag: "EndOfStream" })).toBe(false)
  })

  it("round-trips through JSON: same class, _tag, fields and message; cause as its message", () => {
    for (const { error } of samples) {
      const decoded = roundTrip(error)
      expect(decoded.constructor).toBe(error.constructor)
      expect(decoded._tag).toBe(error._tag)
      expect(decoded.message).toBe(error.message)
      expect(NetError.isNetError(decoded)).toBe(true)
      if ("reason" in error) expect((decoded as typeof error).reason).toBe(error.reason)
      if ("cause" in error && error.cause !== undefined) {
        expect((decoded as { cause?: unknown }).cause).toBe((error.cause as Error).message)
      }
    }
  })

  it.effect("fails an Effect as a typed error, caught by its tag", () =>
    Effect.gen(function*() {
      const caught = yield* Effect.fail(new NetError.EndOfStream()).pipe(
        Effect.catchTag("EndOfStream", (e) => Effect.succeed(e._tag))
      )
      expect(caught).toBe("EndOfStream")
    }))
})
