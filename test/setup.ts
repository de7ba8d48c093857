/**
 * Fails any test during which the process saw an unhandled rejection or an uncaught exception:
 * effect-sockets must never leak a background error (conformance A22).
 */
import { afterEach } from "vitest"

const seen: Array<unknown> = []
process.on("unhandledRejection", (reason) => seen.push(reason))
process.on("uncaughtException", (error) => seen.push(error))

afterEach(() => {
  if (seen.length > 0) {
    const errors = seen.splice(0)
    throw new Error(`unhandled errors during the test: ${errors.map(String).join("; ")}`)
  }
})
