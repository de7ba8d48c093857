/**
 * @internal
 * Effect layer of socket activation: the fds sd_listen_fds(3) passed (read by
 * `systemdRules.ts`, which both editions share), those of one kind adopted and marked taken.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { InvalidArgumentError, type UnsupportedError } from "../NetError.js"
import { activatedOfKind, isInvalid } from "./adoptRules.js"
import { loadAddon } from "./native.js"
import * as rules from "./systemdRules.js"

/**
 * @internal
 * Every passed fd of `kind` not yet taken (of `options.name`, if given), adopted with `adopt`
 * and then marked taken. Needs the addon (to tell what each fd is) only when fds were passed.
 */
export const adoptActivated = <A, E>(
  options: rules.ActivationOptions,
  kind: "listening stream" | "datagram",
  operation: string,
  adopt: (fd: number) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<Array<A>, E | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.gen(function*() {
    const passed = rules.passedFds(options)
    if (isInvalid(passed)) return yield* Effect.fail(new InvalidArgumentError(passed))
    if (passed.length === 0) return []
    const addon = yield* loadAddon(operation)
    const adopted: Array<A> = []
    for (const fd of activatedOfKind(addon, passed.map((p) => p.fd), kind)) {
      adopted.push(yield* adopt(fd))
      rules.take(fd)
    }
    return adopted
  })
