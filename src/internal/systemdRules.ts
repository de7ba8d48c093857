/**
 * @internal
 * Socket activation as sd_listen_fds(3) defines it, as plain data (Effect-free) both editions
 * share: LISTEN_PID must name this process (else nothing was passed to us), LISTEN_FDS fds start
 * at 3 (SD_LISTEN_FDS_START), LISTEN_FDNAMES names them (colon-separated; "unknown" where
 * missing). The variables are unset once read, unless asked to keep them; what was read, and
 * which fds were adopted since, is remembered for the rest of the process (one process, one set
 * of passed fds, whichever edition asks), so that `Listener.fromSystemd` and
 * `Datagram.fromSystemd` can each take their own kind.
 */
import { activatedOfKind } from "./adoptRules.js"
import { type Invalid, show, type Unsupported } from "./argumentRules.js"
import { addonStatus } from "./driver/addonStatus.js"

/** @internal SD_LISTEN_FDS_START */
export const LISTEN_FDS_START = 3

/** @internal One fd systemd passed. */
export interface PassedFd {
  readonly fd: number
  readonly name: string
}

/** @internal The options of `fromSystemd` (both listeners and datagram sockets). */
export interface ActivationOptions {
  readonly name?: string | undefined
  readonly keepEnvironment?: boolean | undefined
}

let passed: Array<PassedFd> | undefined
const taken = new Set<number>()

/** @internal The fds the environment passes to the process `pid` (none when LISTEN_PID names another). */
export const parseListenFds = (env: NodeJS.ProcessEnv, pid: number): Array<PassedFd> => {
  const listenPid = env["LISTEN_PID"]
  const count = env["LISTEN_FDS"]
  if (listenPid === undefined || count === undefined) return []
  if (!/^\d+$/.test(listenPid) || Number(listenPid) !== pid) return []
  if (!/^\d+$/.test(count)) return []
  const names = (env["LISTEN_FDNAMES"] ?? "").split(":")
  return Array.from({ length: Number(count) }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] || "unknown" }))
}

/** @internal A name to pick fds by: a string without ":" (LISTEN_FDNAMES' separator). */
export const invalidName = (name: unknown): Invalid | undefined =>
  name === undefined || (typeof name === "string" && !name.includes(":"))
    ? undefined
    : { argument: "name", why: `must be a string without ":" (got ${show(name)})` }

/**
 * @internal
 * The fds passed to this process not yet taken, optionally only those named `name`, or what is
 * wrong with the name. Reads (and, unless `keepEnvironment`, unsets) the variables on first use.
 */
export const passedFds = (options: ActivationOptions): ReadonlyArray<PassedFd> | Invalid => {
  const invalid = invalidName(options.name)
  if (invalid !== undefined) return invalid
  if (passed === undefined) {
    passed = parseListenFds(process.env, process.pid)
    if (!options.keepEnvironment) {
      delete process.env["LISTEN_PID"]
      delete process.env["LISTEN_FDS"]
      delete process.env["LISTEN_FDNAMES"]
    }
  }
  return passed.filter((p) => !taken.has(p.fd) && (options.name === undefined || p.name === options.name))
}

/** @internal Which passed fds to adopt, or why none can be. */
export type Activated =
  | { readonly fds: ReadonlyArray<number> }
  | { readonly invalid: Invalid }
  | { readonly unsupported: Unsupported }

/**
 * @internal
 * The passed fds not yet taken (of `options.name`, if given) that are ours to adopt as `kind`
 * (see `adoptRules.activatedOfKind`). The addon, which tells what each fd is, is needed only
 * when fds were passed: without it that is `unsupported` (for `operation`).
 */
export const activatedFds = (
  options: ActivationOptions,
  kind: "listening stream" | "datagram",
  operation: string
): Activated => {
  const passed = passedFds(options)
  if (!Array.isArray(passed)) return { invalid: passed as Invalid }
  if (passed.length === 0) return { fds: [] }
  const status = addonStatus()
  if (!("addon" in status)) return { unsupported: { operation, why: status.why } }
  return { fds: activatedOfKind(status.addon, passed.map((p: PassedFd) => p.fd), kind) }
}

/** @internal Marks an fd as adopted: later calls do not offer it again. */
export const take = (fd: number): void => void taken.add(fd)

/** @internal The address a `ListenError` (reason "NotFound") names when no socket was passed. */
export const notFoundAddress = (name: string | undefined): string =>
  `systemd socket${name === undefined ? "" : ` named ${name}`}`
