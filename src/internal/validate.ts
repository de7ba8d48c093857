/** @internal Argument checks, run before any I/O. */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import { supportsReusePort, type TcpSocketOptions } from "./driver/tcp.js"
import { loadAddon } from "./native.js"

/** @internal */
export const checkPort = (
  port: unknown,
  argument: string,
  options: { readonly allowZero: boolean }
): Effect.Effect<void, InvalidArgumentError> => orVoid(invalidPort(port, argument, options.allowZero))

/** @internal The argument error for a bad port, if it is one. */
export const invalidPort = (port: unknown, argument: string, allowZero: boolean): InvalidArgumentError | undefined =>
  typeof port === "number" && Number.isInteger(port) && port >= (allowZero ? 0 : 1) && port <= 65535
    ? undefined
    : new InvalidArgumentError({
      argument,
      why: `must be an integer from ${allowZero ? 0 : 1} to 65535 (got ${show(port)})`
    })

/** @internal */
export const checkHost = (host: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(invalidHost(host, argument))

/** @internal The argument error for a bad host, if it is one. */
export const invalidHost = (host: unknown, argument: string): InvalidArgumentError | undefined =>
  typeof host === "string" && host.length > 0 && !host.includes("\0")
    ? undefined
    : new InvalidArgumentError({
      argument,
      why: `must be a non-empty host name or address (got ${show(host)})`
    })

const orVoid = (error: InvalidArgumentError | undefined): Effect.Effect<void, InvalidArgumentError> =>
  error === undefined ? Effect.void : Effect.fail(error)

/** @internal */
export const checkPositiveInt = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ argument, why: `must be a positive integer (got ${show(value)})` }))

/** @internal The largest listen backlog accepted (Linux caps it at net.core.somaxconn anyway). */
export const MAX_BACKLOG = 65535

/** @internal A listen backlog: an integer from 1 to {@link MAX_BACKLOG}, one rule for TCP and UNIX. */
export const checkBacklog = (value: unknown): Effect.Effect<void, InvalidArgumentError> =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_BACKLOG
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        argument: "backlog",
        why: `must be an integer from 1 to ${MAX_BACKLOG} (got ${show(value)})`
      })
    )

/** @internal Permission bits of a socket file: an integer from 0 to 0o7777 (undefined: leave them). */
export const checkMode = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o7777)
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        argument,
        why: `must be permission bits, an integer from 0 to 0o7777 (got ${show(value)})`
      })
    )

/** @internal SO_REUSEPORT needs Node 22.12+ (23.1+ on the odd line): before, it is unsupported, not ignored. */
export const checkReusePort = (reusePort: boolean): Effect.Effect<void, UnsupportedError> =>
  reusePort && !supportsReusePort()
    ? Effect.fail(
      new UnsupportedError({
        operation: "reusePort",
        why: `Node ${process.versions.node} cannot set SO_REUSEPORT (22.12+ can)`
      })
    )
    : Effect.void

/** @internal A value as an error message shows it; never throws (a BigInt, a Symbol, an odd object). */
export const show = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/**
 * @internal
 * An options argument: absent, or an object. Typed callers cannot pass anything else, but a
 * caller without types (or one reading JSON) can, and a `null` must not become a defect.
 */
export const checkOptions = (options: unknown, argument = "options"): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(invalidOptions(options, argument))

/** @internal The argument error for an options argument that is not an object, if it is one. */
export const invalidOptions = (options: unknown, argument = "options"): InvalidArgumentError | undefined =>
  options === undefined || (typeof options === "object" && options !== null && !Array.isArray(options))
    ? undefined
    : new InvalidArgumentError({ argument, why: `must be an object of options (got ${show(options)})` })

/**
 * @internal
 * A duration option, decoded (`undefined` when absent), or the argument error. `Duration.decode`
 * throws on what it cannot read and turns a negative or NaN number into zero: both are refused.
 */
export const durationOrError = (
  value: unknown,
  argument: string
): Duration.Duration | InvalidArgumentError | undefined => {
  if (value === undefined) return undefined
  const negative = (typeof value === "number" && !(value >= 0)) || (typeof value === "bigint" && value < 0n)
  const decoded = negative ? Option.none() : Duration.decodeUnknown(value)
  return Option.isSome(decoded)
    ? decoded.value
    : new InvalidArgumentError({ argument, why: `must be a non-negative duration (got ${show(value)})` })
}

/** @internal A duration option, decoded (undefined when absent); see {@link durationOrError}. */
export const decodeDuration = (
  value: unknown,
  argument: string
): Effect.Effect<Duration.Duration | undefined, InvalidArgumentError> => {
  const decoded = durationOrError(value, argument)
  return decoded instanceof InvalidArgumentError ? Effect.fail(decoded) : Effect.succeed(decoded)
}

/** @internal The longest TCP_KEEPIDLE Linux accepts, in seconds. */
export const MAX_KEEPALIVE_SECONDS = 32767

/** @internal The largest buffer size asked of SO_RCVBUF/SO_SNDBUF (Linux doubles what it is given). */
export const MAX_BUFFER_SIZE = 2 ** 30

/** @internal The socket options a TCP stream or listener takes, as the user gives them. */
export interface TcpSocketOptionsInput {
  readonly noDelay?: boolean | undefined
  readonly keepAlive?: boolean | Duration.DurationInput | undefined
  readonly receiveBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/**
 * @internal
 * Checks TCP socket options before any I/O: `keepAlive` as a boolean or a whole number of
 * seconds from 1 to 32767, buffer sizes as integers from 1 to 2^30. Asking for a buffer size
 * needs the addon (Node has no setter): without it, `UnsupportedError`.
 */
export const checkTcpSocketOptions = (
  options: TcpSocketOptionsInput
): Effect.Effect<TcpSocketOptions, InvalidArgumentError | UnsupportedError> =>
  Effect.gen(function*() {
    if (options.noDelay !== undefined && typeof options.noDelay !== "boolean") {
      return yield* Effect.fail(
        new InvalidArgumentError({ argument: "noDelay", why: `must be a boolean (got ${String(options.noDelay)})` })
      )
    }
    let keepAlive: boolean | number | undefined
    if (options.keepAlive === undefined || typeof options.keepAlive === "boolean") {
      keepAlive = options.keepAlive
    } else {
      const decoded = Duration.decodeUnknown(options.keepAlive)
      const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
      if (!(millis % 1000 === 0 && millis >= 1000 && millis <= MAX_KEEPALIVE_SECONDS * 1000)) {
        return yield* Effect.fail(
          new InvalidArgumentError({
            argument: "keepAlive",
            why: `must be a boolean or a whole number of seconds from 1 to ${MAX_KEEPALIVE_SECONDS} (got ${
              Option.isSome(decoded) ? Duration.format(decoded.value) : String(options.keepAlive)
            })`
          })
        )
      }
      keepAlive = millis / 1000
    }
    yield* checkBufferSizes(options)
    if (options.receiveBufferSize !== undefined || options.sendBufferSize !== undefined) {
      yield* loadAddon(options.receiveBufferSize !== undefined ? "receiveBufferSize" : "sendBufferSize")
    }
    return {
      noDelay: options.noDelay,
      keepAlive,
      receiveBufferSize: options.receiveBufferSize,
      sendBufferSize: options.sendBufferSize
    }
  })

/** @internal `receiveBufferSize` and `sendBufferSize`, when given, are integers from 1 to 2^30. */
export const checkBufferSizes = (options: {
  readonly receiveBufferSize?: unknown
  readonly sendBufferSize?: unknown
}): Effect.Effect<void, InvalidArgumentError> => {
  for (const argument of ["receiveBufferSize", "sendBufferSize"] as const) {
    const size = options[argument]
    if (
      size !== undefined &&
      !(typeof size === "number" && Number.isInteger(size) && size >= 1 && size <= MAX_BUFFER_SIZE)
    ) {
      return Effect.fail(
        new InvalidArgumentError({ argument, why: `must be an integer from 1 to 2^30 (got ${String(size)})` })
      )
    }
  }
  return Effect.void
}

/** @internal `ipv6Only`, when given, is a boolean. */
export const checkIpv6Only = (ipv6Only: unknown): Effect.Effect<void, InvalidArgumentError> =>
  ipv6Only === undefined || typeof ipv6Only === "boolean"
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({ argument: "ipv6Only", why: `must be a boolean (got ${String(ipv6Only)})` })
    )
