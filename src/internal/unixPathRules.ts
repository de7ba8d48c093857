/**
 * @internal
 * UNIX socket path policy both editions share, as plain data (Effect-free): what a path may be
 * (checked before any I/O), the address users see, and how a path reads in messages.
 */
import type { Invalid } from "./argumentRules.js"

/** @internal A UNIX address as both editions' `UnixAddress`. */
export interface UnixAddressData {
  readonly _tag: "UnixAddress"
  readonly path: string | Uint8Array
}

/** sun_path holds 108 bytes: 107 and a NUL for a filesystem path, 108 for an abstract name. */
export const MAX_PATH_BYTES = 107

/** @internal A path as the bytes the kernel sees, or what is wrong with it. Strings are UTF-8; "\0name" is abstract. */
export const pathBytesOrInvalid = (path: unknown, argument = "path"): Buffer | Invalid => {
  const bytes = typeof path === "string"
    ? Buffer.from(path, "utf8")
    : path instanceof Uint8Array
    ? Buffer.from(path)
    : undefined
  if (bytes === undefined) return { argument, why: "must be a string or bytes" }
  if (bytes.length === 0) return { argument, why: "must not be empty" }
  const abstract = bytes[0] === 0
  const limit = abstract ? MAX_PATH_BYTES + 1 : MAX_PATH_BYTES
  if (bytes.length > limit) {
    const kind = abstract ? "abstract name" : "path"
    return {
      argument,
      why: `is ${bytes.length} bytes long; the kernel's limit for a UNIX socket ${kind} is ${limit} bytes`
    }
  }
  if (!abstract && bytes.includes(0)) {
    return { argument, why: "must not contain a NUL byte (only an abstract name starts with one)" }
  }
  return bytes
}

/** @internal Whether the path bytes name an abstract socket. */
export const isAbstract = (bytes: Uint8Array): boolean => bytes.length > 0 && bytes[0] === 0

/**
 * @internal
 * The address as users see it: a string for a filesystem path that is valid UTF-8, bytes for an
 * abstract name or non-UTF-8 bytes, `""` for an unnamed socket.
 */
export const toUnixAddress = (bytes: Uint8Array | null): UnixAddressData => {
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
