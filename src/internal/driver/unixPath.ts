/**
 * @internal
 * Driver: the filesystem side of UNIX socket paths (what is at a path, removing a socket file,
 * permission bits). Effect-free; the stale-socket rule that uses it is in `../unixPath.ts`.
 */
import * as fs from "node:fs"
import type { Addon, SocketType } from "./addon.js"

/** @internal What is at a path: nothing, a socket file, or any other kind of file. */
export type PathKind = "none" | "socket" | "other"

/**
 * @internal
 * What a probe of a socket file found: "stale" (provably nobody bound: ECONNREFUSED for the
 * probing socket's type), "live" (someone answered, or a socket of the other type is bound
 * there: EPROTOTYPE), or the error that kept it from knowing (EACCES, EMFILE, …).
 */
export type ProbeResult = "stale" | "live" | { readonly error: unknown }

/** @internal A connect's error as a probe result: only ECONNREFUSED proves the file stale. */
export const probeResultOf = (cause: unknown): ProbeResult => {
  const code = (cause as { code?: unknown } | null)?.code
  if (code === "ECONNREFUSED") return "stale"
  // EAGAIN: a stream listener with a full backlog; EPROTOTYPE: a socket of the other type.
  if (code === "EAGAIN" || code === "EPROTOTYPE") return "live"
  return { error: cause }
}

/**
 * @internal
 * Probes a socket file with a connect from a new socket of `type` (the path's raw bytes, with the
 * addon). A connect that succeeds or is in progress says someone is bound there; see
 * `probeResultOf` for the errors. A datagram connect's EPERM also says "live": the socket there
 * talks only to the peer it connected to.
 */
export const probeBound = (addon: Addon, type: SocketType, path: Uint8Array): ProbeResult => {
  let fd: number
  try {
    fd = addon.socket(type)
  } catch (error) {
    return { error }
  }
  try {
    addon.connect(fd, path)
    return "live"
  } catch (cause) {
    return type === "dgram" && (cause as { code?: unknown }).code === "EPERM" ? "live" : probeResultOf(cause)
  } finally {
    addon.close(fd)
  }
}

/** @internal lstat: what is at `path` (a symlink counts as "other", never followed). */
export const pathKind = (path: Buffer): PathKind => {
  const stat = fs.lstatSync(path, { throwIfNoEntry: false })
  return stat === undefined ? "none" : stat.isSocket() ? "socket" : "other"
}

/**
 * @internal
 * unlink(2) of the file at `path` (nothing there is fine). Not `fs.rmSync`: Node 20 answers an
 * unlink's EPERM (a sticky directory) by trying it as a directory and throws ENOTDIR instead.
 */
export const remove = (path: Buffer): void => {
  try {
    fs.unlinkSync(path)
  } catch (cause) {
    if ((cause as { code?: unknown }).code !== "ENOENT") throw cause
  }
}

/** @internal Removes `path` if a socket file is there (a listener's own file, on close). */
export const removeIfSocket = (path: Buffer): void => {
  if (pathKind(path) === "socket") remove(path)
}

/**
 * @internal
 * chmod(2). `mode | 0` because Node (20 to 24) aborts the process on `-0` (its native
 * `IsInt32` check fails after the JS check let it through); the rules accept -0 as 0.
 */
export const chmod = (path: Buffer, mode: number): void => fs.chmodSync(path, mode | 0)
