/**
 * What bench/instructions.ts runs under callgrind, bundled by esbuild (so node loads one file,
 * not hundreds of modules through tsx): one ping-pong of `rounds` round trips, printed as a
 * figure. Usage: instructions-worker <W2|W5p> <impl> '{"rounds":N}' (as bench/worker.ts).
 */
import { type Impl, workerMain } from "./lib.js"
import { rawPingPong, rawTcp, rawUnix } from "./raw.js"
import { effectPingPong, withBackend } from "./workloads/streams.js"
import { effectTcp, effectUnix } from "./workloads/transports.js"

/** The workloads and implementations bench:instructions counts (W2: TCP, W5p: UNIX, addon). */
const impls: Record<string, Record<string, Impl>> = {
  W2: { raw: rawPingPong(rawTcp), "effect-sockets": effectPingPong(effectTcp) },
  W5p: { raw: rawPingPong(rawUnix), "effect-sockets (addon)": withBackend(true, effectPingPong(effectUnix)) }
}

await workerMain(impls)
