/**
 * What bench/instructions.ts runs under callgrind for Effect 4 (bundled by esbuild, as
 * bench/instructions-worker.ts is for the root's rows; Node >= 22.19 only): W2 (TCP ping-pong)
 * and W5p (UNIX ping-pong) over Effect 4.1's own NodeSocket and over the Effect 4 edition of
 * effect-sockets, on the same shapes as the root worker's raw and effect-sockets rows.
 */
import { workerMain } from "../lib.js"
import { unixSocketPath } from "../raw.js"
import { editionPingPong, editionTcp, editionUnix } from "./edition.js"
import { pingPong, tcp, unix } from "./nodeSocket.js"

await workerMain({
  W2: { "effect 4.1 NodeSocket": pingPong(tcp), "effect-sockets/effect4": editionPingPong(editionTcp) },
  W5p: {
    "effect 4.1 NodeSocket": pingPong(unix(unixSocketPath)),
    "effect-sockets/effect4": editionPingPong(editionUnix(unixSocketPath))
  }
})
