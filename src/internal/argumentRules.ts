/**
 * @internal
 * The argument rules of both Effect editions, as plain data (Effect-free): each rule returns
 * `undefined` for a good value, or what is wrong with it (`{ argument, why }`), which each
 * edition turns into its own `InvalidArgumentError` before any I/O. Duration options are the one
 * rule left to the editions: reading a duration is their `Duration` module's job.
 */
import { supportsReusePort } from "./driver/tcp.js"

/** @internal What is wrong with an argument: the fields of an `InvalidArgumentError`. */
export interface Invalid {
  readonly argument: string
  readonly why: string
}

/** @internal What cannot be done here: the fields of an `UnsupportedError`. */
export interface Unsupported {
  readonly operation: string
  readonly why: string
}

/** @internal A value as an error message shows it; never throws (a BigInt, a Symbol, an odd object). */
export const show = (value: unknown): string => {
  try {
    return typeof value === "string" ? JSON.stringify(value) : String(value)
  } catch {
    return Object.prototype.toString.call(value)
  }
}

/** @internal A port: an integer from 1 (0 when `allowZero`: any free port) to 65535. */
export const invalidPort = (port: unknown, argument: string, allowZero: boolean): Invalid | undefined =>
  typeof port === "number" && Number.isInteger(port) && port >= (allowZero ? 0 : 1) && port <= 65535
    ? undefined
    : { argument, why: `must be an integer from ${allowZero ? 0 : 1} to 65535 (got ${show(port)})` }

/** @internal A host: a non-empty string without NUL. */
export const invalidHost = (host: unknown, argument: string): Invalid | undefined =>
  typeof host === "string" && host.length > 0 && !host.includes("\0")
    ? undefined
    : { argument, why: `must be a non-empty host name or address (got ${show(host)})` }

/** @internal A count or size: a safe integer of at least 1. */
export const invalidPositiveInt = (value: unknown, argument: string): Invalid | undefined =>
  typeof value === "number" && Number.isSafeInteger(value) && value >= 1
    ? undefined
    : { argument, why: `must be a positive integer (got ${show(value)})` }

/** @internal The largest listen backlog accepted (Linux caps it at net.core.somaxconn anyway). */
export const MAX_BACKLOG = 65535

/** @internal A listen backlog: an integer from 1 to {@link MAX_BACKLOG}, one rule for TCP and UNIX. */
export const invalidBacklog = (value: unknown): Invalid | undefined =>
  typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= MAX_BACKLOG
    ? undefined
    : { argument: "backlog", why: `must be an integer from 1 to ${MAX_BACKLOG} (got ${show(value)})` }

/** @internal Permission bits of a socket file: an integer from 0 to 0o7777 (undefined: leave them). */
export const invalidMode = (value: unknown, argument: string): Invalid | undefined =>
  value === undefined || (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0o7777)
    ? undefined
    : { argument, why: `must be permission bits, an integer from 0 to 0o7777 (got ${show(value)})` }

/**
 * @internal
 * An options argument: absent, or an object. Typed callers cannot pass anything else, but a
 * caller without types (or one reading JSON) can, and a `null` must not become a defect.
 */
export const invalidOptions = (options: unknown, argument = "options"): Invalid | undefined =>
  options === undefined || (typeof options === "object" && options !== null && !Array.isArray(options))
    ? undefined
    : { argument, why: `must be an object of options (got ${show(options)})` }

/** @internal A boolean option, when given. */
export const invalidBoolean = (value: unknown, argument: string): Invalid | undefined =>
  value === undefined || typeof value === "boolean"
    ? undefined
    : { argument, why: `must be a boolean (got ${String(value)})` }

/** @internal SO_REUSEPORT needs Node 22.12+ (23.1+ on the odd line): before, it is unsupported, not ignored. */
export const unsupportedReusePort = (reusePort: boolean): Unsupported | undefined =>
  reusePort && !supportsReusePort()
    ? { operation: "reusePort", why: `Node ${process.versions.node} cannot set SO_REUSEPORT (22.12+ can)` }
    : undefined

/** @internal A duration option's error when the edition's `Duration` could not read it (or it is negative). */
export const invalidDuration = (value: unknown, argument: string): Invalid => ({
  argument,
  why: `must be a non-negative duration (got ${show(value)})`
})

/** @internal Negative numbers and bigints, which the editions' duration readers would turn into zero. */
export const isNegative = (value: unknown): boolean =>
  (typeof value === "number" && !(value >= 0)) || (typeof value === "bigint" && value < 0n)

/** @internal The longest TCP_KEEPIDLE Linux accepts, in seconds. */
export const MAX_KEEPALIVE_SECONDS = 32767

/**
 * @internal
 * A keep-alive idle time, given as milliseconds (NaN when the edition could not read it): a whole
 * number of seconds from 1 to {@link MAX_KEEPALIVE_SECONDS}. `shown` is the value as the user wrote it.
 */
export const invalidKeepAliveMillis = (millis: number, shown: string): Invalid | undefined =>
  millis % 1000 === 0 && millis >= 1000 && millis <= MAX_KEEPALIVE_SECONDS * 1000
    ? undefined
    : {
      argument: "keepAlive",
      why: `must be a boolean or a whole number of seconds from 1 to ${MAX_KEEPALIVE_SECONDS} (got ${shown})`
    }

/** @internal The largest buffer size asked of SO_RCVBUF/SO_SNDBUF (Linux doubles what it is given). */
export const MAX_BUFFER_SIZE = 2 ** 30

/** @internal `receiveBufferSize` and `sendBufferSize`, when given, are integers from 1 to 2^30. */
export const invalidBufferSizes = (options: {
  readonly receiveBufferSize?: unknown
  readonly sendBufferSize?: unknown
}): Invalid | undefined => {
  for (const argument of ["receiveBufferSize", "sendBufferSize"] as const) {
    const size = options[argument]
    if (
      size !== undefined &&
      !(typeof size === "number" && Number.isInteger(size) && size >= 1 && size <= MAX_BUFFER_SIZE)
    ) {
      return { argument, why: `must be an integer from 1 to 2^30 (got ${String(size)})` }
    }
  }
  return undefined
}
