/**
 * @internal
 * Argument checks of the Effect 4 edition, run before any I/O: the rules both editions share
 * (src/internal/argumentRules.ts, plain data) as this edition's typed errors. Durations are read
 * with Effect 4's `Duration.fromInput`.
 */
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import * as Option from "effect/Option"
import * as rules from "../../internal/argumentRules.js"
import type { TcpSocketOptions } from "../../internal/driver/tcp.js"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import { loadAddon } from "./native.js"

/** @internal The error of a broken rule, if it is broken. */
export const toError = (invalid: rules.Invalid | undefined): InvalidArgumentError | undefined =>
  invalid === undefined ? undefined : new InvalidArgumentError(invalid)

/** @internal Fails with the error of a broken rule; succeeds when it holds. */
export const check = (invalid: rules.Invalid | undefined): Effect.Effect<void, InvalidArgumentError> =>
  invalid === undefined ? Effect.void : Effect.fail(new InvalidArgumentError(invalid))

/** @internal */
export const checkPort = (port: unknown, argument: string, options: { readonly allowZero: boolean }) =>
  check(rules.invalidPort(port, argument, options.allowZero))

/** @internal */
export const checkHost = (host: unknown, argument: string) => check(rules.invalidHost(host, argument))

/** @internal */
export const checkOptions = (options: unknown, argument = "options") => check(rules.invalidOptions(options, argument))

/** @internal */
export const checkPositiveInt = (value: unknown, argument: string) => check(rules.invalidPositiveInt(value, argument))

/** @internal SO_REUSEPORT: unsupported on a Node that cannot set it, not ignored. */
export const checkReusePort = (reusePort: boolean): Effect.Effect<void, UnsupportedError> => {
  const unsupported = rules.unsupportedReusePort(reusePort)
  return unsupported === undefined ? Effect.void : Effect.fail(new UnsupportedError(unsupported))
}

/** @internal A duration option, read (`undefined` when absent), or the argument error; negatives are refused. */
export const durationOrError = (
  value: unknown,
  argument: string
): Duration.Duration | InvalidArgumentError | undefined => {
  if (value === undefined) return undefined
  const decoded = rules.isNegative(value) ? Option.none() : Duration.fromInput(value as Duration.Input)
  return Option.isSome(decoded) && Duration.toMillis(decoded.value) >= 0
    ? decoded.value
    : new InvalidArgumentError(rules.invalidDuration(value, argument))
}

/** @internal A duration option as an effect; see {@link durationOrError}. */
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
  readonly keepAlive?: boolean | Duration.Input | undefined
  readonly receiveBufferSize?: number | undefined
  readonly sendBufferSize?: number | undefined
}

/**
 * @internal
 * Checks TCP socket options before any I/O (the shared rules); asking for a buffer size needs
 * the addon (Node has no setter): without it, `UnsupportedError`.
 */
export const checkTcpSocketOptions = Effect.fnUntraced(function*(
  options: TcpSocketOptionsInput
): Effect.fn.Return<TcpSocketOptions, InvalidArgumentError | UnsupportedError> {
  yield* check(rules.invalidBoolean(options.noDelay, "noDelay"))
  let keepAlive: boolean | number | undefined
  if (options.keepAlive === undefined || typeof options.keepAlive === "boolean") {
    keepAlive = options.keepAlive
  } else {
    const decoded = Duration.fromInput(options.keepAlive)
    const millis = Option.isSome(decoded) ? Duration.toMillis(decoded.value) : Number.NaN
    const shown = Option.isSome(decoded) ? Duration.format(decoded.value) : String(options.keepAlive)
    yield* check(rules.invalidKeepAliveMillis(millis, shown))
    keepAlive = millis / 1000
  }
  yield* check(rules.invalidBufferSizes(options))
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
