/**
 * @internal
 * Driver: the filesystem side of UNIX socket paths (what is at a path, removing a socket file,
 * permission bits). Effect-free; the stale-socket rule that uses it is in `../unixPath.ts`.
 */
import * as fs from "node:fs"

/** @internal What is at a path: nothing, a socket file, or any other kind of file. */
export type PathKind = "none" | "socket" | "other"

/** @internal lstat: what is at `path` (a symlink counts as "other", never followed). */
export const pathKind = (path: Buffer): PathKind => {
  const stat = fs.lstatSync(path, { throwIfNoEntry: false })
  return stat === undefined ? "none" : stat.isSocket() ? "socket" : "other"
}

/** @internal Removes the file at `path` (nothing there is fine). */
export const remove = (path: Buffer): void => fs.rmSync(path, { force: true })

/** @internal Removes `path` if a socket file is there (a listener's own file, on close). */
export const removeIfSocket = (path: Buffer): void => {
  if (pathKind(path) === "socket") remove(path)
}

/** @internal chmod(2). */
export const chmod = (path: Buffer, mode: number): void => fs.chmodSync(path, mode)
