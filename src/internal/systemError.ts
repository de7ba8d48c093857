/**
 * @internal
 * Plain data about operating-system errors, shared by every layer (Effect-free): the errno
 * `code` of a Node error, its normalised reason, and `host:port` formatting for messages.
 */
import type { resolveErrorReasons, SystemErrorReason } from "./netErrorText.js"

const reasonByCode: Record<string, SystemErrorReason> = {
  ECONNREFUSED: "ConnectionRefused",
  ECONNRESET: "ConnectionReset",
  ECONNABORTED: "ConnectionAborted",
  EPIPE: "BrokenPipe",
  EADDRINUSE: "AddressInUse",
  EADDRNOTAVAIL: "AddressNotAvailable",
  EACCES: "PermissionDenied",
  EPERM: "PermissionDenied",
  ETIMEDOUT: "TimedOut",
  EHOSTUNREACH: "HostUnreachable",
  EHOSTDOWN: "HostUnreachable",
  ENETUNREACH: "NetworkUnreachable",
  ENETDOWN: "NetworkUnreachable",
  ENOENT: "NotFound",
  EMFILE: "TooManyOpenFiles",
  ENFILE: "TooManyOpenFiles",
  EMSGSIZE: "MessageTooLong",
  EINVAL: "InvalidArgument",
  ENODEV: "NoSuchDevice",
  ENXIO: "NoSuchDevice"
}

/** @internal The errno code (`"ECONNRESET"`, …) of a Node error, if it has one. */
export const codeOf = (cause: unknown): string | undefined =>
  typeof cause === "object" && cause !== null && typeof (cause as { code?: unknown }).code === "string"
    ? (cause as { code: string }).code
    : undefined

/** @internal Maps a Node error (or anything thrown) to its normalised reason. */
export const reasonOf = (cause: unknown): SystemErrorReason => reasonByCode[codeOf(cause) ?? ""] ?? "Unknown"

const resolveReasonByCode: Record<string, typeof resolveErrorReasons[number]> = {
  ENOTFOUND: "NotFound",
  EAI_NONAME: "NotFound",
  EAI_AGAIN: "TemporaryFailure",
  ENODATA: "NoAddress",
  EAI_NODATA: "NoAddress"
}

/** @internal Maps a failed `getaddrinfo` to a `ResolveError` reason. */
export const resolveReasonOf = (cause: unknown): typeof resolveErrorReasons[number] =>
  resolveReasonByCode[codeOf(cause) ?? ""] ?? "Unknown"

/** @internal `host:port`, bracketing IPv6 literals. */
export const formatHostPort = (host: string, port: number): string =>
  host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`

/** @internal An Error with an errno-style `code`, for failures we detect ourselves. */
export const systemError = (code: string, message: string): Error => Object.assign(new Error(message), { code })
