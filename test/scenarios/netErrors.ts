/**
 * One sample of every NetError as plain data (tag + constructor fields), for both editions'
 * schema tests: each builds `new NetError[tag](fields)` from its own NetError module.
 */
const refused = new Error("connect ECONNREFUSED 127.0.0.1:1")

export interface NetErrorSample {
  readonly tag: string
  readonly fields: Record<string, unknown>
  /** The message every edition derives from these fields. */
  readonly message: string
}

export const netErrorSamples: ReadonlyArray<NetErrorSample> = [
  { tag: "EndOfStream", fields: {}, message: "the peer has closed its side of the stream" },
  { tag: "ClosedResourceError", fields: { operation: "send" }, message: "cannot send: the resource is closed" },
  { tag: "ClosedResourceError", fields: {}, message: "the resource is closed" },
  {
    tag: "BrokenResourceError",
    fields: { reason: "ConnectionReset", operation: "receive", cause: new Error("read ECONNRESET") },
    message: "receive failed: the resource is broken (ConnectionReset: read ECONNRESET)"
  },
  {
    tag: "BusyResourceError",
    fields: { operation: "reading from" },
    message: "another fiber is already reading from this resource"
  },
  {
    tag: "ConnectError",
    fields: {
      host: "127.0.0.1",
      port: 1,
      reason: "ConnectionRefused",
      attempts: [{ host: "127.0.0.1", port: 1, reason: "ConnectionRefused", cause: refused }]
    },
    message: "cannot connect to 127.0.0.1:1: ConnectionRefused (connect ECONNREFUSED)"
  },
  {
    tag: "ResolveError",
    fields: { host: "nowhere.invalid", reason: "NotFound", cause: new Error("getaddrinfo ENOTFOUND") },
    message: "cannot resolve \"nowhere.invalid\": NotFound (getaddrinfo ENOTFOUND)"
  },
  { tag: "ResolveError", fields: { host: "x", reason: "NoAddress" }, message: "cannot resolve \"x\": NoAddress" },
  {
    tag: "ListenError",
    fields: { reason: "AddressInUse", address: "127.0.0.1:80", cause: new Error("listen EADDRINUSE") },
    message: "cannot listen on 127.0.0.1:80: AddressInUse (listen EADDRINUSE)"
  },
  { tag: "IncompleteRead", fields: {}, message: "the stream ended before the requested data was received" },
  { tag: "DelimiterNotFound", fields: { maxBytes: 10 }, message: "the delimiter was not found within 10 bytes" },
  {
    tag: "UnsupportedError",
    fields: { operation: "sendEof", why: "TLS" },
    message: "sendEof is not supported: TLS"
  },
  {
    tag: "InvalidArgumentError",
    fields: { argument: "port", why: "must be an integer" },
    message: "port must be an integer"
  },
  {
    tag: "TlsError",
    fields: { reason: "CertificateVerify", code: "DEPTH_ZERO_SELF_SIGNED_CERT", cause: new Error("self-signed") },
    message: "TLS handshake failed: CertificateVerify (DEPTH_ZERO_SELF_SIGNED_CERT): self-signed"
  },
  {
    tag: "TlsError",
    fields: { reason: "HandshakeTimeout", code: undefined },
    message: "TLS handshake failed: HandshakeTimeout"
  }
]
