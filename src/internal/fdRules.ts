/**
 * @internal
 * Fd-passing rules both editions share, as plain data (Effect-free): what counts as an fd (see
 * `driver/fds.ts`) and the argument rules, checked before any I/O. AnyIO silently drops what
 * it does not recognise; we refuse it.
 */
import type { Invalid } from "./argumentRules.js"
import type { Addon } from "./driver/addon.js"
import { fdOf, isOpenFd } from "./driver/fds.js"

/**
 * @internal
 * The most fds one message may carry: the kernel's SCM_MAX_FD (253; the addon's own limit, 1024,
 * is above it). More would fail in sendmsg with EINVAL and break the stream.
 */
export const MAX_FDS_PER_MESSAGE = 253

/** The largest fd number: an fd is a C int. */
const MAX_FD = 2 ** 31 - 1

/** @internal An fd number: an integer from 0 to 2**31 - 1 (a C int). */
export const isFdNumber = (value: unknown): value is number =>
  typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= MAX_FD

/** @internal Every fd as a number, each checked to be open (at most {@link MAX_FDS_PER_MESSAGE}), or what is wrong. */
export const fdsOrInvalid = (addon: Addon, fds: ReadonlyArray<unknown>): Array<number> | Invalid => {
  if (!Array.isArray(fds) || fds.length === 0) return { argument: "fds", why: "must not be empty" }
  if (fds.length > MAX_FDS_PER_MESSAGE) {
    return {
      argument: "fds",
      why: `holds ${fds.length} file descriptors; one message carries at most ${MAX_FDS_PER_MESSAGE} (SCM_MAX_FD)`
    }
  }
  const numbers: Array<number> = []
  for (const [index, value] of fds.entries()) {
    const fd = fdOf(value)
    if (!isFdNumber(fd)) {
      return {
        argument: `fds[${index}]`,
        why: "must be a file descriptor: an integer from 0 to 2**31 - 1, a FileHandle, a net.Socket or an open " +
          "effect-sockets stream"
      }
    }
    if (!isOpenFd(addon, fd)) return { argument: `fds[${index}]`, why: `(${fd}) is not an open file descriptor` }
    numbers.push(fd)
  }
  return numbers
}

/** @internal msglen and maxfds: positive integers (a zero-length recvmsg would look like EOF). */
export const invalidFdCount = (value: number, argument: "msglen" | "maxfds"): Invalid | undefined =>
  Number.isSafeInteger(value) && value >= 1 && (argument === "msglen" || value <= 1024)
    ? undefined
    : { argument, why: argument === "msglen" ? "must be a positive integer" : "must be an integer from 1 to 1024" }

/** @internal The message that carries fds must not be empty (the fds travel with its first byte). */
export const invalidMessage = (bytes: Uint8Array): Invalid | undefined =>
  bytes.length === 0 ? { argument: "message", why: "must not be empty" } : undefined
