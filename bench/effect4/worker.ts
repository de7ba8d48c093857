/**
 * The Effect 4.1 peer's worker (bench/run.ts runs it on Node >= 22.19 only): as bench/worker.ts,
 * but in this folder, so that `effect` resolves to this folder's Effect 4.1 (`npm ci` here; its
 * lock file pins effect and @effect/platform-node at 4.1.0). Implementations per workload id:
 * the Effect 4 edition of effect-sockets (bench/effect4/edition.ts) has its rows here too.
 */
import { workerMain } from "../lib.js"
import { clients, unixSocketPath } from "../raw.js"
import { editionBulk, editionPingPong, editionServer, editionTcp, editionUnix } from "./edition.js"
import { bulk, pingPong, tcp, unix, withServer } from "./nodeSocket.js"

const NODE_SOCKET = "effect 4.1 NodeSocket"
const NODE_SOCKET_SERVER = "effect 4.1 NodeSocketServer"
const EDITION = "effect-sockets/effect4"

await workerMain({
  W1: {
    [NODE_SOCKET]: bulk(tcp),
    [EDITION]: editionBulk(editionTcp),
    [`${EDITION}, receiveBatch/sendAll`]: editionBulk(editionTcp, true)
  },
  W2: {
    [NODE_SOCKET]: pingPong(tcp),
    [`${NODE_SOCKET_SERVER}, raw client`]: withServer(clients.one),
    [EDITION]: editionPingPong(editionTcp),
    [`${EDITION} server, raw client`]: editionServer(clients.one)
  },
  W2x: {
    [NODE_SOCKET_SERVER]: withServer(clients.otherProcess),
    [`${EDITION} server`]: editionServer(clients.otherProcess)
  },
  W3: { [NODE_SOCKET_SERVER]: withServer(clients.serve), [EDITION]: editionServer(clients.serve) },
  W3x: {
    [NODE_SOCKET_SERVER]: withServer(clients.otherProcess),
    [`${EDITION} server`]: editionServer(clients.otherProcess)
  },
  W3c: { [NODE_SOCKET_SERVER]: withServer(clients.churn), [EDITION]: editionServer(clients.churn) },
  W5: {
    [NODE_SOCKET]: bulk(unix(unixSocketPath)),
    [EDITION]: editionBulk(editionUnix(unixSocketPath)),
    [`${EDITION}, receiveBatch/sendAll`]: editionBulk(editionUnix(unixSocketPath), true)
  },
  W5p: { [NODE_SOCKET]: pingPong(unix(unixSocketPath)), [EDITION]: editionPingPong(editionUnix(unixSocketPath)) }
})
