/**
 * @internal
 * Fd-passing validation of the Effect 4 edition: the shared rules (fdRules.ts) as its
 * `InvalidArgumentError`.
 */
import * as Effect from "effect/Effect"
import type { Addon } from "../../internal/driver/addon.js"
import { fdsOrInvalid, invalidFdCount, invalidMessage } from "../../internal/fdRules.js"
import { InvalidArgumentError } from "../NetError.js"

/** @internal Every fd as a number, each checked to be open. */
export const resolveFds = (
  addon: Addon,
  fds: ReadonlyArray<unknown>
): Effect.Effect<Array<number>, InvalidArgumentError> =>
  Effect.suspend(() => {
    const numbers = fdsOrInvalid(addon, fds)
    return Array.isArray(numbers) ? Effect.succeed(numbers) : Effect.fail(new InvalidArgumentError(numbers))
  })

/** @internal msglen and maxfds: positive integers. */
export const checkFdCount = (value: number, argument: "msglen" | "maxfds"): InvalidArgumentError | undefined => {
  const invalid = invalidFdCount(value, argument)
  return invalid === undefined ? undefined : new InvalidArgumentError(invalid)
}

/** @internal The message that carries fds must not be empty. */
export const checkMessage = (bytes: Uint8Array): InvalidArgumentError | undefined => {
  const invalid = invalidMessage(bytes)
  return invalid === undefined ? undefined : new InvalidArgumentError(invalid)
}
