/** @internal Argument checks, run before any I/O. */
import * as Effect from "effect/Effect"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import { supportsReusePort } from "./driver/tcp.js"

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
      why: `must be an integer from ${allowZero ? 0 : 1} to 65535 (got ${String(port)})`
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
      why: `must be a non-empty host name or address (got ${JSON.stringify(host)})`
    })

const orVoid = (error: InvalidArgumentError | undefined): Effect.Effect<void, InvalidArgumentError> =>
  error === undefined ? Effect.void : Effect.fail(error)

/** @internal */
export const checkPositiveInt = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? Effect.void
    : Effect.fail(new InvalidArgumentError({ argument, why: `must be a positive integer (got ${String(value)})` }))

/** @internal The largest listen backlog accepted (Linux caps it at net.core.somaxconn anyway). */
export const MAX_BACKLOG = 65535

/** @internal A listen backlog: an integer from 1 to {@link MAX_BACKLOG}, one rule for TCP and UNIX. */
export const checkBacklog = (value: unknown): Effect.Effect<void, InvalidArgumentError> =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_BACKLOG
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        argument: "backlog",
        why: `must be an integer from 1 to ${MAX_BACKLOG} (got ${String(value)})`
      })
    )

/** @internal Permission bits of a socket file: an integer from 0 to 0o7777 (undefined: leave them). */
export const checkMode = (value: unknown, argument: string): Effect.Effect<void, InvalidArgumentError> =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o7777)
    ? Effect.void
    : Effect.fail(
      new InvalidArgumentError({
        argument,
        why: `must be permission bits, an integer from 0 to 0o7777 (got ${String(value)})`
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
