/**
 * @internal
 * The addon as the rest of the code sees it: loaded on first use (TCP/UDP users never load it),
 * and its absence a typed `UnsupportedError` that says why (the decision is the driver's
 * `addonStatus`, shared with the Effect 4 edition).
 */
import * as Effect from "effect/Effect"
import { UnsupportedError } from "../NetError.js"
import type { Addon } from "./driver/addon.js"
import { addonStatus } from "./driver/addonStatus.js"

/** @internal */
export const loadAddon = (operation: string): Effect.Effect<Addon, UnsupportedError> =>
  Effect.suspend(() => {
    const status = addonStatus()
    return "addon" in status
      ? Effect.succeed(status.addon)
      : Effect.fail(new UnsupportedError({ operation, why: status.why }))
  })

/** @internal Whether the addon is available (loading it if needed). */
export const addonAvailable: Effect.Effect<boolean> = Effect.match(loadAddon("probe"), {
  onFailure: () => false,
  onSuccess: () => true
})
