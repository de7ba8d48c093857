/**
 * What every Effect 4 example shares: the command line of examples/lib/args.ts (Effect-free,
 * shared with the Effect 3 examples), and running with a clean SIGINT/SIGTERM stop and readable
 * failures (one line on stderr, exit code 1) on @effect/platform-node 4's `NodeRuntime`.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Exit } from "effect"

export { flags, formatAddress, isMain, port, switchFlag, usage } from "../../lib/args.js"

/** Runs an example: SIGINT/SIGTERM interrupt it (exit 0); a failure prints its message (exit 1). */
export const run = <A, E>(program: Effect.Effect<A, E>): void =>
  NodeRuntime.runMain(
    Effect.andThen(Effect.yieldNow, program).pipe(
      Effect.tapCause((cause) =>
        Cause.hasInterruptsOnly(cause)
          ? Effect.void
          : Console.error(`error: ${
            (() => {
              const error = Cause.squash(cause)
              return error instanceof Error ? error.message : Cause.pretty(cause)
            })()
          }`)
      )
    ),
    {
      disableErrorReporting: true,
      // A stop by SIGINT/SIGTERM is a clean end (exit 0), as in the Effect 3 examples; Effect 4's
      // default teardown would exit 130.
      teardown: (exit, onExit) => onExit(Exit.isSuccess(exit) || Cause.hasInterruptsOnly(exit.cause) ? 0 : 1)
    }
  )
