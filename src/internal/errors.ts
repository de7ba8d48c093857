/**
 * @internal
 * The one place where errors of the family are built from what a driver reported: every
 * transport turns a native error into the same typed error the same way.
 */
import { BrokenResourceError, ClosedResourceError, ConnectError, ListenError } from "../NetError.js"
import { reasonOf } from "./systemError.js"

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
