/**
 * @internal
 * The addon as the Effect 4 edition sees it: the shared driver's decision (`addonStatus`), a
 * refusal as a typed `UnsupportedError` that says why.
 */
import * as Effect from "effect/Effect"
import type { Addon } from "../../internal/driver/addon.js"
import { addonStatus } from "../../internal/driver/addonStatus.js"
import { UnsupportedError } from "../NetError.js"

/** @internal */
export const loadAddon = (operation: string): Effect.Effect<Addon, UnsupportedError> =>
  Effect.suspend(() => {
    const status = addonStatus()
    return "addon" in status
      ? Effect.succeed(status.addon)
      : Effect.fail(new UnsupportedError({ operation, why: status.why }))
  })
