/**
 * The error family of effect-sockets. Every failure a socket operation can report is one of
 * these tagged errors, in the error channel; raw Node errors never reach it. Errors that come
 * from the operating system keep the native error as `cause` and a normalised `reason`.
 *
 * Precedence when several apply: `ClosedResourceError` (this side closed the resource) wins
 * over `BrokenResourceError` (the connection failed), which wins over `EndOfStream`.
 *
 * @since 0.1.0
 */
import { hasProperty } from "effect/Predicate"
import * as Schema from "effect/Schema"
import * as text from "./internal/netErrorText.js"

/**
 * Marks every error of this family (see {@link isNetError}).
 *
 * @since 0.1.0
 * @category type ids
 */
export const TypeId: unique symbol = Symbol.for("effect-sockets/NetError")

/**
 * @since 0.1.0
 * @category type ids
 */
export type TypeId = typeof TypeId

/**
 * The schema of {@link SystemErrorReason}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const SystemErrorReason = Schema.Literal(...text.systemErrorReasons)

/**
 * A normalised operating-system error kind, derived from Node's errno `code`.
 *
 * @since 0.1.0
 * @category models
 */
export type SystemErrorReason = typeof SystemErrorReason.Type

const describe = text.describe

/**
 * An error's `cause` as it crosses the wire: any value here, its message (a string) when
 * encoded; a decoded error's `cause` is that string, so its `message` reads the same.
 *
 * @since 0.1.0
 * @category schemas
 */
export const CauseAsString: Schema.Schema<unknown, string> = Schema.transform(Schema.String, Schema.Unknown, {
  strict: true,
  decode: (text) => text,
  encode: (cause) => describe(cause)
})

const optionalCause = Schema.optional(CauseAsString)

/**
 * The peer closed its sending side and every byte it sent has been received.
 *
 * @since 0.1.0
 * @category errors
 */
export class EndOfStream extends Schema.TaggedError<EndOfStream>("effect-sockets/EndOfStream")("EndOfStream", {}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.endOfStreamMessage
  }
}

/**
 * This side closed the resource (or its sending half), so the operation cannot run.
 *
 * @since 0.1.0
 * @category errors
 */
export class ClosedResourceError extends Schema.TaggedError<ClosedResourceError>(
  "effect-sockets/ClosedResourceError"
)("ClosedResourceError", {
  operation: Schema.optional(Schema.String)
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.closedMessage(this.operation)
  }
}

/**
 * The connection failed underneath us: reset by the peer, a broken pipe, a failed write.
 * `cause` is the operating system's error, never empty.
 *
 * @since 0.1.0
 * @category errors
 */
export class BrokenResourceError extends Schema.TaggedError<BrokenResourceError>(
  "effect-sockets/BrokenResourceError"
)("BrokenResourceError", {
  /** `"UnexpectedEof"`: a TLS peer closed the transport without close_notify (a possible truncation). */
  reason: Schema.Union(SystemErrorReason, Schema.Literal(...text.brokenOnlyReasons)),
  operation: Schema.String,
  cause: CauseAsString
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.brokenMessage(this)
  }
}

/**
 * Another fiber is already receiving from (or sending to, or accepting on) this resource.
 *
 * @since 0.1.0
 * @category errors
 */
export class BusyResourceError extends Schema.TaggedError<BusyResourceError>(
  "effect-sockets/BusyResourceError"
)("BusyResourceError", {
  operation: Schema.Literal(...text.busyOperations)
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.busyMessage(this.operation)
  }
}

/**
 * One failed connection attempt, as held by {@link ConnectError}.
 *
 * @since 0.1.0
 * @category models
 */
export interface ConnectAttempt {
  readonly host: string
  readonly port: number
  readonly reason: SystemErrorReason
  readonly cause: unknown
}

/**
 * The schema of {@link ConnectAttempt} (`cause` encoded as its message).
 *
 * @since 0.1.0
 * @category schemas
 */
export const ConnectAttempt: Schema.Schema<ConnectAttempt, {
  readonly host: string
  readonly port: number
  readonly reason: SystemErrorReason
  readonly cause: string
}> = Schema.Struct({
  host: Schema.String,
  port: Schema.Number,
  reason: SystemErrorReason,
  cause: CauseAsString
})

/**
 * Every connection attempt failed. `attempts` lists each address tried, in order, with its
 * own error; `reason` is that of the first attempt (all the same in the common case). For a
 * UNIX socket, `host` is the path and `port` is 0.
 *
 * @since 0.1.0
 * @category errors
 */
export class ConnectError extends Schema.TaggedError<ConnectError>("effect-sockets/ConnectError")("ConnectError", {
  host: Schema.String,
  port: Schema.Number,
  reason: SystemErrorReason,
  attempts: Schema.Array(ConnectAttempt)
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.connectMessage(this)
  }
}

/**
 * Why a host name could not be resolved.
 *
 * @since 0.1.0
 * @category models
 */
export type ResolveErrorReason = typeof ResolveErrorReason.Type

/**
 * The schema of {@link ResolveErrorReason}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const ResolveErrorReason = Schema.Literal(...text.resolveErrorReasons)

/**
 * A host name could not be resolved (the `getaddrinfo` failure itself, not wrapped in a
 * connection error).
 *
 * @since 0.1.0
 * @category errors
 */
export class ResolveError extends Schema.TaggedError<ResolveError>("effect-sockets/ResolveError")("ResolveError", {
  host: Schema.String,
  reason: ResolveErrorReason,
  cause: optionalCause
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.resolveMessage(this)
  }
}

/**
 * A listener could not be created: the address is in use, permission denied, no consistent
 * port could be found for every address, …
 *
 * @since 0.1.0
 * @category errors
 */
export class ListenError extends Schema.TaggedError<ListenError>("effect-sockets/ListenError")("ListenError", {
  reason: Schema.Union(SystemErrorReason, Schema.Literal(...text.listenOnlyReasons)),
  address: Schema.String,
  cause: optionalCause
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.listenMessage(this)
  }
}

/**
 * The stream ended before the requested number of bytes (or the delimiter) arrived.
 *
 * @since 0.1.0
 * @category errors
 */
export class IncompleteRead extends Schema.TaggedError<IncompleteRead>("effect-sockets/IncompleteRead")(
  "IncompleteRead",
  {}
) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.incompleteReadMessage
  }
}

/**
 * The delimiter did not appear within `maxBytes` bytes.
 *
 * @since 0.1.0
 * @category errors
 */
export class DelimiterNotFound extends Schema.TaggedError<DelimiterNotFound>(
  "effect-sockets/DelimiterNotFound"
)("DelimiterNotFound", {
  maxBytes: Schema.Number
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.delimiterNotFoundMessage(this.maxBytes)
  }
}

/**
 * The operation is not available here (a platform without the native addon, TLS half-close…).
 *
 * @since 0.1.0
 * @category errors
 */
export class UnsupportedError extends Schema.TaggedError<UnsupportedError>(
  "effect-sockets/UnsupportedError"
)("UnsupportedError", {
  operation: Schema.String,
  why: Schema.String
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.unsupportedMessage(this)
  }
}

/**
 * Why a TLS handshake failed.
 *
 * @since 0.1.0
 * @category models
 */
export type TlsErrorReason = typeof TlsErrorReason.Type

/**
 * The schema of {@link TlsErrorReason}.
 *
 * @since 0.1.0
 * @category schemas
 */
export const TlsErrorReason = Schema.Literal(...text.tlsErrorReasons)

/**
 * A TLS handshake failed: the peer's certificate could not be verified, it does not match the
 * host name, the handshake took too long, or the peers could not agree. `code` is the OpenSSL
 * (or Node) code, e.g. `"DEPTH_ZERO_SELF_SIGNED_CERT"`.
 *
 * @since 0.1.0
 * @category errors
 */
export class TlsError extends Schema.TaggedError<TlsError>("effect-sockets/TlsError")("TlsError", {
  reason: TlsErrorReason,
  code: Schema.UndefinedOr(Schema.String),
  cause: optionalCause
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.tlsMessage(this)
  }
}

/**
 * An argument is invalid (a port out of range, `maxBytes < 1`, an empty host…). Reported
 * before any I/O happens.
 *
 * @since 0.1.0
 * @category errors
 */
export class InvalidArgumentError extends Schema.TaggedError<InvalidArgumentError>(
  "effect-sockets/InvalidArgumentError"
)("InvalidArgumentError", {
  argument: Schema.String,
  why: Schema.String
}) {
  get [TypeId](): TypeId {
    return TypeId
  }
  override get message() {
    return text.invalidArgumentMessage(this)
  }
}

/**
 * Any error of this family.
 *
 * @since 0.1.0
 * @category models
 */
export type NetError =
  | EndOfStream
  | ClosedResourceError
  | BrokenResourceError
  | BusyResourceError
  | ConnectError
  | ResolveError
  | ListenError
  | IncompleteRead
  | DelimiterNotFound
  | UnsupportedError
  | InvalidArgumentError
  | TlsError

/**
 * Whether `u` is an error of this family (also after it crossed the wire and was decoded).
 *
 * @since 0.1.0
 * @category guards
 */
export const isNetError = (u: unknown): u is NetError => hasProperty(u, TypeId)

/**
 * The schema of every error of this family, for an rpc's `error` (or any `Schema`-typed
 * channel): `Rpc.make("Fetch", { success, error: NetError.NetErrorSchema })`. Each error's
 * `cause` is encoded as its message.
 *
 * @since 0.1.0
 * @category schemas
 */
export const NetErrorSchema: Schema.Union<[
  typeof EndOfStream,
  typeof ClosedResourceError,
  typeof BrokenResourceError,
  typeof BusyResourceError,
  typeof ConnectError,
  typeof ResolveError,
  typeof ListenError,
  typeof IncompleteRead,
  typeof DelimiterNotFound,
  typeof UnsupportedError,
  typeof InvalidArgumentError,
  typeof TlsError
]> = Schema.Union(
  EndOfStream,
  ClosedResourceError,
  BrokenResourceError,
  BusyResourceError,
  ConnectError,
  ResolveError,
  ListenError,
  IncompleteRead,
  DelimiterNotFound,
  UnsupportedError,
  InvalidArgumentError,
  TlsError
)
