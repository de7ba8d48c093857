/**
 * W5: UNIX stream sockets (a path in a private temp dir), bulk and ping-pong, as W1/W2 over
 * TCP. Rows: raw `node:net` on the path (the baseline); effect-sockets with its native addon
 * (non-blocking syscalls + libuv readiness); effect-sockets with EFFECT_SOCKETS_DISABLE_ADDON=1,
 * which backs UNIX streams with `node:net` like TCP; @effect/platform's NodeSocket(Server) on
 * the path.
 */
import { MiB, type Workload } from "../lib.js"
import { rawBulk, rawPingPong, rawUnix as raw, unixSocketPath as socketPath } from "../raw.js"
import {
  effectBulk,
  effectBulkBatched,
  effectPingPong,
  platformBulk,
  platformPingPong,
  type PlatformTransport,
  withBackend
} from "./streams.js"
import { effectUnix } from "./transports.js"

const platform: PlatformTransport = {
  server: () => ({ path: socketPath() }),
  client: (address) => ({ path: (address as { path: string }).path })
}

const NODE_NET = { EFFECT_SOCKETS_DISABLE_ADDON: "1" }

/** The UNIX stream workloads. */
export const unixWorkloads: ReadonlyArray<Workload> = [
  {
    id: "W5",
    title: "UNIX stream bulk, 64 KiB sends",
    unit: "MiB/s",
    params: { full: { total: 2048 * MiB }, quick: { total: 64 * MiB } },
    impls: {
      raw: rawBulk(raw),
      "effect-sockets (addon)": withBackend(true, effectBulk(effectUnix)),
      "effect-sockets (addon), receiveBatch/sendAll": withBackend(true, effectBulkBatched(effectUnix)),
      "effect-sockets (node:net)": withBackend(false, effectBulk(effectUnix)),
      "@effect/platform": platformBulk(platform)
    },
    env: { "effect-sockets (node:net)": NODE_NET }
  },
  {
    id: "W5p",
    title: "UNIX stream ping-pong, 64 B",
    unit: "round trips/s",
    params: { full: { rounds: 100_000 }, quick: { rounds: 2_000 } },
    impls: {
      raw: rawPingPong(raw),
      "effect-sockets (addon)": withBackend(true, effectPingPong(effectUnix)),
      "effect-sockets (node:net)": withBackend(false, effectPingPong(effectUnix)),
      "@effect/platform": platformPingPong(platform)
    },
    env: { "effect-sockets (node:net)": NODE_NET }
  }
]
