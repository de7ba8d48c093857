/** A python3 process as an Effect 4 resource: its stdout once it exits 0, killed with the scope. */
import { Effect } from "effect"
import { spawn } from "node:child_process"

export const runPython = (script: string, args: ReadonlyArray<string> = []): Effect.Effect<string, Error> =>
  Effect.callback<string, Error>((resume) => {
    const child = spawn("python3", ["-c", script, ...args], { stdio: ["ignore", "pipe", "pipe"], timeout: 20_000 })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()))
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()))
    child.once("error", (error) => resume(Effect.fail(error)))
    child.once(
      "close",
      (code) =>
        resume(code === 0 ? Effect.succeed(stdout) : Effect.fail(new Error(`python3 exited ${code}: ${stderr}`)))
    )
    return Effect.sync(() => child.kill("SIGKILL"))
  })
