/**
 * @internal
 * Socket activation, as sd_listen_fds(3) defines it: LISTEN_PID must name this process (else
 * nothing was passed to us), LISTEN_FDS fds start at 3 (SD_LISTEN_FDS_START), LISTEN_FDNAMES
 * names them (colon-separated; "unknown" where missing). The variables are unset once read,
 * unless asked to keep them; what was read is remembered for the rest of the process, so that
 * `Listener.fromSystemd` and `Datagram.fromSystemd` can each take their own kind.
 */
import * as Effect from "effect/Effect"
import { InvalidArgumentError } from "../NetError.js"

/** @internal SD_LISTEN_FDS_START */
export const LISTEN_FDS_START = 3

/** @internal One fd systemd passed. */
export interface PassedFd {
  readonly fd: number
  readonly name: string
}

let passed: Array<PassedFd> | undefined
const taken = new Set<number>()

const parse = (env: NodeJS.ProcessEnv): Array<PassedFd> => {
  const pid = env["LISTEN_PID"]
  const count = env["LISTEN_FDS"]
  if (pid === undefined || count === undefined) return []
  if (!/^\d+$/.test(pid) || Number(pid) !== process.pid) return []
  if (!/^\d+$/.test(count)) return []
  const n = Number(count)
  const names = (env["LISTEN_FDNAMES"] ?? "").split(":")
  return Array.from({ length: n }, (_, i) => ({ fd: LISTEN_FDS_START + i, name: names[i] || "unknown" }))
}

/**
 * @internal
 * The fds passed to this process not yet taken, optionally only those named `name`. Reads (and,
 * unless `keepEnvironment`, unsets) the variables on first use.
 */
export const passedFds = (
  options: { readonly name?: string | undefined; readonly keepEnvironment?: boolean | undefined }
): Effect.Effect<ReadonlyArray<PassedFd>, InvalidArgumentError> =>
  Effect.suspend(() => {
    if (options.name !== undefined && (typeof options.name !== "string" || options.name.includes(":"))) {
      return Effect.fail(
        new InvalidArgumentError({
          argument: "name",
          why: `must be a string without ":" (got ${String(options.name)})`
        })
      )
    }
    if (passed === undefined) {
      passed = parse(process.env)
      if (!options.keepEnvironment) {
        delete process.env["LISTEN_PID"]
        delete process.env["LISTEN_FDS"]
        delete process.env["LISTEN_FDNAMES"]
      }
    }
    return Effect.succeed(
      passed.filter((p) => !taken.has(p.fd) && (options.name === undefined || p.name === options.name))
    )
  })

/** @internal Marks an fd as adopted: later calls do not offer it again. */
export const take = (fd: number): void => void taken.add(fd)
