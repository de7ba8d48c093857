/**
 * @internal
 * Driver: what counts as a file descriptor to pass (a number, or an object that owns one), and
 * whether it is open. Effect-free.
 */
import type { Addon } from "./addon.js"

/** @internal The key under which our own streams expose the fd they own. */
export const OwnedFdKey: unique symbol = Symbol.for("effect-sockets/OwnedFd")

/** @internal The fd a value is or owns, or undefined when it is neither. */
export const fdOf = (value: unknown): number | undefined => {
  if (typeof value === "number") return value
  if (typeof value !== "object" || value === null) return undefined
  const owned = (value as { [OwnedFdKey]?: () => number | undefined })[OwnedFdKey]
  if (typeof owned === "function") return owned()
  // fs.promises.FileHandle
  if (
    typeof (value as { fd?: unknown }).fd === "number" && typeof (value as { close?: unknown }).close === "function"
  ) {
    return (value as { fd: number }).fd
  }
  // net.Socket: its libuv handle holds the fd
  const handle = (value as { _handle?: { fd?: unknown } | null })._handle
  if (handle && typeof handle.fd === "number") return handle.fd
  return undefined
}

/** @internal Whether `fd` is an open file descriptor of this process. */
export const isOpenFd = (addon: Addon, fd: number): boolean => addon.fdType(fd) !== "invalid"
