/**
 * NetError as Schema-backed tagged errors: each has a TypeId (`NetError.isNetError`), encodes
 * with `cause` as its message (a string), decodes back to the same class with the same
 * `_tag`, fields, `reason` and `message`.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { NetError } from "../src/index.js"

const roundTrip = <E extends NetError.NetError>(error: E): NetError.NetError => {
  const encoded = Schema.encodeSync(NetError.NetErrorSchema)(error)
  return Schema.decodeUnknownSync(NetError.NetErrorSchema)(JSON.parse(JSON.stringify(encoded)))
}

const refused = new Error("connect ECONNREFUSED 127.0.0.1:1")
const samples: ReadonlyArray<NetError.NetError> = [
  new NetError.EndOfStream(),
  new NetError.ClosedResourceError({ operation: "send" }),
  new NetError.ClosedResourceError({}),
  new NetError.BrokenResourceError({
    reason: "ConnectionReset",
    operation: "receive",
    cause: new Error("read ECONNRESET")
  }),
  new NetError.BusyResourceError({ operation: "reading from" }),
  new NetError.ConnectError({
    host: "127.0.0.1",
    port: 1,
    reason: "ConnectionRefused",
    attempts: [{ host: "127.0.0.1", port: 1, reason: "ConnectionRefused", cause: refused }]
  }),
  new NetError.ResolveError({ host: "nowhere.invalid", reason: "NotFound", cause: new Error("getaddrinfo ENOTFOUND") }),
  new NetError.ResolveError({ host: "x", reason: "NoAddress" }),
  new NetError.ListenError({ reason: "AddressInUse", address: "127.0.0.1:80", cause: new Error("listen EADDRINUSE") }),
  new NetError.IncompleteRead(),
  new NetError.DelimiterNotFound({ maxBytes: 10 }),
  new NetError.UnsupportedError({ operation: "sendEof", why: "TLS" }),
  new NetError.InvalidArgumentError({ argument: "port", why: "must be an integer" }),
  new NetError.TlsError({
    reason: "CertificateVerify",
    code: "DEPTH_ZERO_SELF_SIGNED_CERT",
    cause: new Error("self-signed")
  }),
  new NetError.TlsError({ reason: "HandshakeTimeout", code: undefined })
]

describe("NetError schemas", () => {
  it("every error is a NetError, an Error and a tagged value", () => {
    for (const error of samples) {
      expect(NetError.isNetError(error)).toBe(true)
      expect(error).toBeInstanceOf(Error)
      expect(typeof error.message).toBe("string")
    }
    expect(NetError.isNetError(new Error("x"))).toBe(false)
    expect(NetError.isNetError({ _tag: "EndOfStream" })).toBe(false)
  })

  it("round-trips through JSON: same class, _tag, fields and message; cause as its message", () => {
    for (const error of samples) {
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

  it("encodes cause as a string, never as an object", () => {
    const encoded = Schema.encodeSync(NetError.ConnectError)(samples[5] as NetError.ConnectError)
    expect(encoded).toEqual({
      _tag: "ConnectError",
      host: "127.0.0.1",
      port: 1,
      reason: "ConnectionRefused",
      attempts: [{ host: "127.0.0.1", port: 1, reason: "ConnectionRefused", cause: refused.message }]
    })
  })
})
