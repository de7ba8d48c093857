/**
 * @internal
 * Errors of the family built from what a driver reported (the reason from the shared errno map).
 */
import { reasonOf } from "../../internal/systemError.js"
import { BrokenResourceError, ClosedResourceError, ConnectError, ListenError } from "../NetError.js"

/** @internal A native error that broke `operation` (a reset, EPIPE, a failed syscall…). */
export const broken = (operation: string, cause: unknown): BrokenResourceError =>
  new BrokenResourceError({ reason: reasonOf(cause), operation, cause })

/** @internal This side closed the resource before `operation`. */
export const closed = (operation: string): ClosedResourceError => new ClosedResourceError({ operation })

/** @internal Binding or accepting at `address` failed. */
export const listenFailed = (address: string, cause: unknown): ListenError =>
  new ListenError({ reason: reasonOf(cause), address, cause })

/** @internal A connection with a single attempt failed (UNIX paths: `port` 0, `host` the path). */
export const connectFailed = (host: string, port: number, cause: unknown): ConnectError => {
  const reason = reasonOf(cause)
  return new ConnectError({ host, port, reason, attempts: [{ host, port, reason, cause }] })
}
