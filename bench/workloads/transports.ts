/**
 * The effect-sockets transports of the stream workloads (TCP on 127.0.0.1, UNIX on a fresh
 * path), apart from the workload tables so that bench/instructions-worker.ts bundles only them.
 */
import { Effect } from "effect"
import { Listener, Socket } from "../../src/index.js"
import { unixSocketPath } from "../raw.js"
import type { EffectTransport } from "./streams.js"

/** The port of a TCP listener (its first address). */
export const portOf = (
  listener: { readonly addresses: ReadonlyArray<{ readonly _tag: string; readonly port?: number }> }
): number => listener.addresses[0]!.port!

export const effectTcp: EffectTransport = {
  listen: Listener.createTcpListener({ localHost: "127.0.0.1" }),
  connect: (listener) => Socket.connectTcp("127.0.0.1", portOf(listener))
}

export const effectUnix: EffectTransport = {
  listen: Effect.suspend(() => Listener.createUnixListener(unixSocketPath())),
  connect: (listener) => Socket.connectUnix((listener.addresses[0] as { readonly path: string }).path)
}
