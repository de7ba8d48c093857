/**
 * @internal
 * UNIX socket paths for the Effect 4 edition: the shared path rules (unixPathRules.ts) as
 * effects, and the stale-socket rule that the UNIX listener and datagram socket share.
 */
import * as Effect from "effect/Effect"
import * as driver from "../../internal/driver/unixPath.js"
import { reasonOf } from "../../internal/systemError.js"
import { describePath, isAbstract, pathBytesOrInvalid } from "../../internal/unixPathRules.js"
import { InvalidArgumentError, ListenError } from "../NetError.js"
import { listenFailed } from "./errors.js"

export { describePath, isAbstract, toUnixAddress } from "../../internal/unixPathRules.js"

/** @internal A path as the bytes the kernel sees (see unixPathRules.ts), or the argument error. */
export const toPathBytes = (path: unknown, argument = "path"): Effect.Effect<Buffer, InvalidArgumentError> =>
  Effect.suspend(() => {
    const bytes = pathBytesOrInvalid(path, argument)
    return Buffer.isBuffer(bytes) ? Effect.succeed(bytes) : Effect.fail(new InvalidArgumentError(bytes))
  })

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
