/**
 * What every example shares: flag parsing, "am I the entry point", running with a clean
 * SIGINT/SIGTERM stop, and readable failures (one line on stderr, exit code 1).
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect } from "effect"

export { flags, formatAddress, isMain, port, switchFlag, usage } from "./args.js"

/** Runs an example: SIGINT/SIGTERM interrupt it (exit 0); a failure prints its message (exit 1). */
export const run = <A, E>(program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    // Yield first: runMain installs its SIGINT/SIGTERM handlers once the fiber first suspends, and
    // a program that binds and prints synchronously could otherwise be signalled before that.
    Effect.zipRight(Effect.yieldNow(), program).pipe(
      Effect.tapErrorCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.void
          : Console.error(
            `error: ${
              Cause.squash(cause) instanceof Error ? (Cause.squash(cause) as Error).message : Cause.pretty(cause)
            }`
          )
      )
    ),
    { disableErrorReporting: true }
  )
