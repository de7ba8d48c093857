/**
 * python3 as an independent peer, for the Effect 4 edition's tests (test/helpers/python.ts in
 * Effect 4): an inline script run as a child process (`python3 -u -c`), its stdout read line by
 * line, killed (and awaited) when the scope closes if it is still running.
 */
import * as Deferred from "effect/Deferred"
import * as Duration from "effect/Duration"
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { spawn } from "node:child_process"

export interface PythonProcess {
  /** The next line the script prints (without its newline); fails if none comes within `within`. */
  readonly line: (within?: Duration.Input) => Effect.Effect<string, Error>
  /** Waits (bounded) for the script to exit; its whole stdout, or an error with its stderr. */
  readonly done: (within?: Duration.Input) => Effect.Effect<string, Error>
}

const format = (input: Duration.Input): string => Duration.format(Duration.fromInputUnsafe(input))

/** Starts `python3 -u -c script args…`; it is killed (and awaited) when the scope closes. */
export const spawnPython = (
  script: string,
  args: ReadonlyArray<string> = []
): Effect.Effect<PythonProcess, never, Scope.Scope> =>
  Effect.gen(function*() {
    const exited = yield* Deferred.make<number | null>()
    let stdout = ""
    let stderr = ""
    let consumed = 0
    const waiters = new Set<() => void>()
    const notify = () => waiters.forEach((waiter) => waiter())

    const child = yield* Effect.acquireRelease(
      Effect.sync(() => {
        const child = spawn("python3", ["-u", "-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"] })
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk
          notify()
        })
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk))
        child.on("error", (error) => {
          stderr += String(error)
          Deferred.doneUnsafe(exited, Effect.succeed(-1))
          notify()
        })
        child.on("close", (code) => {
          Deferred.doneUnsafe(exited, Effect.succeed(code))
          notify()
        })
        return child
      }),
      (child) =>
        Effect.suspend(() => {
          if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL")
          return Effect.timeoutOption(Deferred.await(exited), "5 seconds").pipe(Effect.asVoid)
        })
    )

    const failure = (what: string) => new Error(`python3 (pid ${child.pid}): ${what}\nstderr: ${stderr}`)

    const line = (within: Duration.Input = "10 seconds") =>
      Effect.callback<string, Error>((resume) => {
        const check = () => {
          const end = stdout.indexOf("\n", consumed)
          if (end >= 0) {
            const text = stdout.slice(consumed, end)
            consumed = end + 1
            waiters.delete(check)
            resume(Effect.succeed(text))
          } else if (child.exitCode !== null || child.signalCode !== null) {
            waiters.delete(check)
            resume(Effect.fail(failure(`exited (${child.exitCode ?? child.signalCode}) before printing a line`)))
          }
        }
        waiters.add(check)
        check()
        return Effect.sync(() => void waiters.delete(check))
      }).pipe(
        Effect.timeoutOrElse({
          duration: within,
          orElse: () => Effect.fail(failure(`no line within ${format(within)}`))
        })
      )

    const done = (within: Duration.Input = "15 seconds") =>
      Deferred.await(exited).pipe(
        Effect.timeoutOrElse({
          duration: within,
          orElse: () => Effect.fail(failure(`still running after ${format(within)}`))
        }),
        Effect.flatMap((code) => (code === 0 ? Effect.succeed(stdout) : Effect.fail(failure(`exited with ${code}`))))
      )

    return { line, done }
  })

/** Runs a script to completion: its stdout once it exits 0 (else an error with its stderr). */
export const runPython = (
  script: string,
  args: ReadonlyArray<string> = [],
  within?: Duration.Input
): Effect.Effect<string, Error> => Effect.scoped(Effect.flatMap(spawnPython(script, args), (p) => p.done(within)))
