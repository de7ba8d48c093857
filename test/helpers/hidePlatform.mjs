// A module hook (node --import) that makes @effect/platform unresolvable, as in a project that
// did not install the optional peer.
import { register } from "node:module"

const hook = `export async function resolve(specifier, context, next) {
  if (specifier === "@effect/platform" || specifier.startsWith("@effect/platform/")) {
    const error = new Error("Cannot find package '" + specifier + "' (hidden by the test)")
    error.code = "ERR_MODULE_NOT_FOUND"
    throw error
  }
  return next(specifier, context)
}`
register("data:text/javascript," + encodeURIComponent(hook))
