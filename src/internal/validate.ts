/** @internal Argument checks, run before any I/O. */
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../NetError.js"

/** @internal */
export const checkPort = (
  port: unknown,
  argument: string,
  options: { readonly allowZero: boolean }
): Effect.Effect<void, InvalidArgumentError> =>
  typeof port === "number" && Number.isInteger(port) && port >= (options.allowZero ? 0 : 1) && port <= 65535
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        argument,
        why: `must be an integer from ${options.allowZero ? 0 : 1} to 65535 (got ${String(port)})`
      })
    )

/** @internal */
export const checkHost = (host: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  typeof host === "string" && host.length > 0 && !host.includes("\0")
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ argument, why: `must be a non-empty host name or address (got ${JSON.stringify(host)})` }))

/** @internal */
export const checkPositiveInt = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ argument, why: `must be a positive integer (got ${String(value)})` }))
