/**
 * @internal
 * The error family as plain data, shared by both Effect editions (Effect-free): the closed reason
 * lists each edition turns into its Schema literals, and every error's message from its fields.
 * An edition's NetError module holds only its Schema classes; what they say lives here, once.
 */
import { formatHostPort } from "./systemError.js"

/** @internal Normalised operating-system error kinds (see `reasonOf` in systemError.ts). */
export const systemErrorReasons = [
  "ConnectionRefused",
  "ConnectionReset",
  "ConnectionAborted",
  "BrokenPipe",
  "AddressInUse",
  "AddressNotAvailable",
  "PermissionDenied",
  "TimedOut",
  "HostUnreachable",
  "NetworkUnreachable",
  "NotFound",
  "TooManyOpenFiles",
  "MessageTooLong",
  "InvalidArgument",
  /** ENODEV/ENXIO: no such (usable) network interface, e.g. joining a multicast group without one. */
  "NoSuchDevice",
  "Unknown"
] as const

/** @internal */
export type SystemErrorReason = typeof systemErrorReasons[number]

/** @internal A broken stream's reasons beyond the system's: bad TLS data, a TLS peer gone without close_notify. */
export const brokenOnlyReasons = ["InvalidData", "UnexpectedEof"] as const

/** @internal */
export const resolveErrorReasons = ["NotFound", "TemporaryFailure", "NoAddress", "Unknown"] as const

/** @internal */
export const tlsErrorReasons = ["CertificateVerify", "HostnameMismatch", "HandshakeTimeout", "Protocol"] as const

/** @internal What a busy resource was already doing. */
export const busyOperations = ["reading from", "writing to", "accepting on"] as const

/** @internal A listener's reason beyond the system's: no port free on every address. */
export const listenOnlyReasons = ["InconsistentPort"] as const

/** @internal The text of a cause: an Error's message, anything else as a string. */
export const describe = (cause: unknown): string => cause instanceof Error ? cause.message : String(cause)

/** @internal */
export const endOfStreamMessage = "the peer has closed its side of the stream"

/** @internal */
export const closedMessage = (operation: string | undefined): string =>
  operation ? `cannot ${operation}: the resource is closed` : "the resource is closed"

/** @internal */
export const brokenMessage = (e: { readonly operation: string; readonly reason: string; readonly cause: unknown }) =>
  `${e.operation} failed: the resource is broken (${e.reason}: ${describe(e.cause)})`

/** @internal */
export const busyMessage = (operation: string): string => `another fiber is already ${operation} this resource`

/** @internal One failed connection attempt (a `ConnectError`'s `attempts`). */
export interface ConnectAttemptFields {
  readonly host: string
  readonly port: number
  readonly reason: string
  readonly cause: unknown
}

/** @internal */
export const connectMessage = (e: {
  readonly host: string
  readonly port: number
  readonly reason: string
  readonly attempts: ReadonlyArray<ConnectAttemptFields>
}): string => {
  // Port 0 marks a UNIX socket path (TCP connects never use port 0).
  const where = (host: string, port: number) => (port === 0 ? host : formatHostPort(host, port))
  // Node's messages end with the address ("connect ECONNREFUSED 127.0.0.1:1234"): say it once.
  const detail = (a: ConnectAttemptFields) => {
    const text = describe(a.cause)
    const suffixes = a.port === 0 ? [` ${a.host}`] : [` ${a.host}:${a.port}`, ` ${formatHostPort(a.host, a.port)}`]
    const suffix = suffixes.find((s) => text.endsWith(s))
    const trimmed = suffix === undefined ? text : text.slice(0, -suffix.length)
    return a.reason === e.reason ? trimmed : `${a.reason}: ${trimmed}`
  }
  const target = where(e.host, e.port)
  const each = e.attempts.map((a) => {
    const at = where(a.host, a.port)
    return at === target && e.attempts.length === 1 ? detail(a) : `${at}: ${detail(a)}`
  })
  return `cannot connect to ${target}: ${e.reason}${each.length === 0 ? "" : ` (${each.join("; ")})`}`
}

const withCause = (cause: unknown, before = " (", after = ")"): string =>
  cause === undefined ? "" : `${before}${describe(cause)}${after}`

/** @internal */
export const resolveMessage = (e: { readonly host: string; readonly reason: string; readonly cause?: unknown }) =>
  `cannot resolve ${JSON.stringify(e.host)}: ${e.reason}${withCause(e.cause)}`

/** @internal */
export const listenMessage = (e: { readonly address: string; readonly reason: string; readonly cause?: unknown }) =>
  `cannot listen on ${e.address}: ${e.reason}${withCause(e.cause)}`

/** @internal */
export const incompleteReadMessage = "the stream ended before the requested data was received"

/** @internal */
export const delimiterNotFoundMessage = (maxBytes: number): string =>
  `the delimiter was not found within ${maxBytes} bytes`

/** @internal */
export const unsupportedMessage = (e: { readonly operation: string; readonly why: string }): string =>
  `${e.operation} is not supported: ${e.why}`

/** @internal */
export const tlsMessage = (
  e: { readonly reason: string; readonly code?: string | undefined; readonly cause?: unknown }
) => `TLS handshake failed: ${e.reason}${e.code ? ` (${e.code})` : ""}${withCause(e.cause, ": ", "")}`

/** @internal */
export const invalidArgumentMessage = (e: { readonly argument: string; readonly why: string }): string =>
  `${e.argument} ${e.why}`
