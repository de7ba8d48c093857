/**
 * @internal
 * Effect layer of socket activation: the passed fds of one kind (chosen by `systemdRules.ts`,
 * which both editions share) adopted one by one, each marked taken once adopted.
 */
import * as Effect from "effect/Effect"
import type * as Scope from "effect/Scope"
import { InvalidArgumentError, UnsupportedError } from "../NetError.js"
import * as rules from "./systemdRules.js"

/** @internal Every passed fd of `kind` not yet taken (of `options.name`, if given), adopted with `adopt`. */
export const adoptActivated = <A, E>(
  options: rules.ActivationOptions,
  kind: "listening stream" | "datagram",
  operation: string,
  adopt: (fd: number) => Effect.Effect<A, E, Scope.Scope>
): Effect.Effect<Array<A>, E | InvalidArgumentError | UnsupportedError, Scope.Scope> =>
  Effect.suspend((): Effect.Effect<Array<A>, E | InvalidArgumentError | UnsupportedError, Scope.Scope> => {
    const found = rules.activatedFds(options, kind, operation)
    if ("invalid" in found) return Effect.fail(new InvalidArgumentError(found.invalid))
    if ("unsupported" in found) return Effect.fail(new UnsupportedError(found.unsupported))
    return Effect.forEach(found.fds, (fd) => Effect.tap(adopt(fd), () => Effect.sync(() => rules.take(fd))))
  })
