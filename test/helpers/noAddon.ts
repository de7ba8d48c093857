/**
 * Runs a script (TypeScript source, through tsx) in a child process where the native addon is
 * disabled (`EFFECT_SOCKETS_DISABLE_ADDON=1`), and returns what it printed: the addon's
 * availability is decided once per process, so the fallbacks need their own process.
 */
import { Effect } from "effect"
import { execFile } from "node:child_process"
import * as path from "node:path"
import { fileURLToPath } from "node:url"

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..")

export const runWithoutAddon = (script: string): Effect.Effect<string, Error> =>
  Effect.async<string, Error>((resume) => {
    const child = execFile(path.join(root, "node_modules/.bin/tsx"), ["--eval", script], {
      cwd: root,
      env: { ...process.env, EFFECT_SOCKETS_DISABLE_ADDON: "1" },
      timeout: 25_000
    }, (error, out, err) => resume(error ? Effect.fail(new Error(`${error.message}\n${err}`)) : Effect.succeed(out)))
    return Effect.sync(() => child.kill("SIGKILL"))
  })
