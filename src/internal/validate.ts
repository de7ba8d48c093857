/**
 * @internal
 * Argument checks of the Effect 3 edition, run before any I/O: the shared rules
 * (argumentRules.ts, plain data) as this edition's `InvalidArgumentError`/`UnsupportedError`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import * as rules from "./argumentRules.js"
import type { TcpSocketOptions } from "./driver/tcp.js"
import { loadAddon } from "./native.js"

export { MAX_BACKLOG, MAX_BUFFER_SIZE, MAX_KEEPALIVE_SECONDS, show } from "./argumentRules.js"

const toError = (invalid: rules.Invalid | undefined): InvalidArgumentError | undefined =>
  invalid === undefined ? undefined : new InvalidArgumentError(invalid)

const orVoid = (invalid: rules.Invalid | undefined): Effect.Effect<void, InvalidArgumentError> =>
  invalid === undefined ? Effect.void : Effect.fail(new InvalidArgumentError(invalid))

/** @internal */
export const checkPort = (
  port: unknown,
  argument: string,
  options: { readonly allowZero: boolean }
): Effect.Effect<void, InvalidArgumentError> => orVoid(rules.invalidPort(port, argument, options.allowZero))

/** @internal The argument error for a bad port, if it is one. */
export const invalidPort = (port: unknown, argument: string, allowZero: boolean): InvalidArgumentError | undefined =>
  toError(rules.invalidPort(port, argument, allowZero))

/** @internal */
export const checkHost = (host: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidHost(host, argument))

/** @internal The argument error for a bad host, if it is one. */
export const invalidHost = (host: unknown, argument: string): InvalidArgumentError | undefined =>
  toError(rules.invalidHost(host, argument))

/** @internal */
export const checkPositiveInt = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidPositiveInt(value, argument))

/** @internal A listen backlog: one rule for TCP and UNIX. */
export const checkBacklog = (value: unknown): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidBacklog(value))

/** @internal Permission bits of a socket file (undefined: leave them). */
export const checkMode = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidMode(value, argument))

/** @internal SO_REUSEPORT needs Node 22.12+ (23.1+ on the odd line): before, it is unsupported, not ignored. */
export const checkReusePort = (reusePort: boolean): Effect.Effect<void, UnsupportedError> => {
  const unsupported = rules.unsupportedReusePort(reusePort)
  return unsupported === undefined ? Effect.void : Effect.fail(new UnsupportedError(unsupported))
}

/** @internal An options argument: absent, or an object (see argumentRules.ts). */
export const checkOptions = (options: unknown, argument = "options"): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidOptions(options, argument))

/** @internal The argument error for an options argument that is not an object, if it is one. */
export const invalidOptions = (options: unknown, argument = "options"): InvalidArgumentError | undefined =>
  toError(rules.invalidOptions(options, argument))

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
  const decoded = rules.isNegative(value) ? Option.none() : Duration.decodeUnknown(value)
  return Option.isSome(decoded) ? decoded.value : new InvalidArgumentError(rules.invalidDuration(value, argument))
}

/** @internal A duration option, decoded (undefined when absent); see {@link durationOrError}. */
export const decodeDuration = (
  value: unknown,
  argument: string
): Effect.Effect<Duration.Duration | undefined, InvalidArgumentError> => {
  const decoded = durationOrError(value, argument)
  return decoded instanceof InvalidArgumentError ? Effect.fail(decoded) : Effect.succeed(decoded)
}

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
    yield* orVoid(rules.invalidBoolean(options.noDelay, "noDelay"))
    let keepAlive: boolean | number | undefined
    if (options.keepAlive === undefined || typeof options.keepAlive === "boolean") {
      keepAlive = options.keepAlive
    } else {
      const decoded = Duration.decodeUnknown(options.keepAlive)
      const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
      const shown = Option.isSome(decoded) ? Duration.format(decoded.value) : String(options.keepAlive)
      yield* orVoid(rules.invalidKeepAliveMillis(millis, shown))
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
}): Effect.Effect<void, InvalidArgumentError> => orVoid(rules.invalidBufferSizes(options))

/** @internal `ipv6Only`, when given, is a boolean. */
export const checkIpv6Only = (ipv6Only: unknown): Effect.Effect<void, InvalidArgumentError> =>
  orVoid(rules.invalidBoolean(ipv6Only, "ipv6Only"))
