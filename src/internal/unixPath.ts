/**
 * @internal
 * UNIX socket paths: validation and conversion before any I/O, and the stale-socket rule that
 * the UNIX listener and the UNIX datagram socket share.
 */
import * as Effect from "effect/Effect"
import type { UnixAddress } from "../ByteStream.js"
import { InvalidArgumentError, ListenError } from "../NetError.js"
import * as driver from "./driver/unixPath.js"
import { listenFailed } from "./errors.js"
import { reasonOf } from "./systemError.js"

/** sun_path holds 108 bytes: 107 and a NUL for a filesystem path, 108 for an abstract name. */
export const MAX_PATH_BYTES = 107

/** @internal A path as the bytes the kernel sees. Strings are UTF-8; "\0name" is abstract. */
export const toPathBytes = (path: unknown, argument = "path"): Effect.Effect<Buffer, InvalidArgumentError> =>
  Effect.suspend(() => {
    const bytes = typeof path === "string"
      ? Buffer.from(path, "utf8")
      : path instanceof Uint8Array
      ? Buffer.from(path)
      : undefined
    if (bytes === undefined) {
      return Effect.fail(new InvalidArgumentError({ argument, why: "must be a string or bytes" }))
    }
    if (bytes.length === 0) return Effect.fail(new InvalidArgumentError({ argument, why: "must not be empty" }))
    const abstract = bytes[0] === 0
    const limit = abstract ? MAX_PATH_BYTES + 1 : MAX_PATH_BYTES
    if (bytes.length > limit) {
      const kind = abstract ? "abstract name" : "path"
      return Effect.fail(
        new InvalidArgumentError({
          argument,
          why: `is ${bytes.length} bytes long; the kernel's limit for a UNIX socket ${kind} is ${limit} bytes`
        })
      )
    }
    if (!abstract && bytes.includes(0)) {
      return Effect.fail(
        new InvalidArgumentError({
          argument,
          why: "must not contain a NUL byte (only an abstract name starts with one)"
        })
      )
    }
    return Effect.succeed(bytes)
  })

/** @internal Whether the path bytes name an abstract socket. */
export const isAbstract = (bytes: Uint8Array): boolean => bytes.length > 0 && bytes[0] === 0

/**
 * @internal
 * The address as users see it: a string for a filesystem path that is valid UTF-8, bytes for an
 * abstract name or non-UTF-8 bytes, `""` for an unnamed socket.
 */
export const toUnixAddress = (bytes: Uint8Array | null): UnixAddress => {
  if (bytes === null || bytes.length === 0) return { _tag: "UnixAddress", path: "" }
  if (isAbstract(bytes)) return { _tag: "UnixAddress", path: Buffer.from(bytes) }
  const text = Buffer.from(bytes).toString("utf8")
  return { _tag: "UnixAddress", path: Buffer.from(text, "utf8").equals(Buffer.from(bytes)) ? text : Buffer.from(bytes) }
}

/** Bytes that are not valid UTF-8, readable: printable ASCII as is, `\\` and every other byte as `\xNN`. */
const escapeBytes = (bytes: Uint8Array): string => {
  let out = ""
  for (const byte of bytes) {
    out += byte === 0x5c ? "\\\\" : byte >= 0x20 && byte < 0x7f
      ? String.fromCharCode(byte)
      : `\\x${byte.toString(16).padStart(2, "0")}`
  }
  return out
}

/**
 * @internal
 * A path for messages: the string, `@name` for an abstract name, and for a path that is not
 * valid UTF-8 its bytes escaped (`/tmp/s\xff`).
 */
export const describePath = (path: Uint8Array): string => {
  const address = toUnixAddress(path)
  if (typeof address.path === "string") return address.path
  return isAbstract(path) ? `@${Buffer.from(address.path).subarray(1).toString("utf8")}` : escapeBytes(path)
}

/**
 * @internal
 * The stale-socket rule: makes a path free for bind. Only a socket file that the probe proves
 * stale (nobody bound: ECONNREFUSED) is removed. A live socket (of either type), any other kind
 * of file, or a probe that could not tell is a ListenError — AddressInUse, PermissionDenied
 * (EACCES/EPERM), TooManyOpenFiles — and the file is left untouched. Filesystem errors while
 * looking at or removing the path (ENOTDIR, ELOOP, EACCES, EPERM) are ListenErrors too.
 */
export const clearStale = (
  path: Buffer,
  probe: (path: Buffer) => Effect.Effect<driver.ProbeResult>
): Effect.Effect<void, ListenError> =>
  Effect.gen(function*() {
    if (isAbstract(path)) return
    const address = describePath(path)
    const fsCall = <A>(call: () => A) => Effect.try({ try: call, catch: (cause) => listenFailed(address, cause) })
    const kind = yield* fsCall(() => driver.pathKind(path))
    if (kind === "none") return
    const inUse = (why: string, cause?: unknown) =>
      new ListenError({ reason: "AddressInUse", address, cause: cause ?? new Error(why) })
    if (kind === "other") return yield* Effect.fail(inUse("a file that is not a socket is in the way"))
    const found = yield* probe(path)
    if (found === "live") return yield* Effect.fail(inUse("another socket is bound to this path and in use"))
    if (found !== "stale") {
      const reason = reasonOf(found.error)
      return yield* Effect.fail(
        reason === "PermissionDenied" || reason === "TooManyOpenFiles"
          ? new ListenError({ reason, address, cause: found.error })
          : inUse("the socket file could not be proven stale", found.error)
      )
    }
    yield* fsCall(() => driver.remove(path))
  })

/** @internal On close, removes the listener's own socket file when asked to (never an abstract name). */
export const unlinkOnClose = (path: Buffer, unlink: boolean): Effect.Effect<void> =>
  Effect.sync(() => {
    if (unlink && !isAbstract(path)) driver.removeIfSocket(path)
  })
