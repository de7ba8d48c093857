/** Every workload of the suite, in the order the table shows them. */
import type { Workload } from "../lib.js"
import { datagramWorkloads } from "./datagram.js"
import { fdWorkloads } from "./fds.js"
import { rpcWorkloads } from "./rpc.js"
import { tcpWorkloads } from "./tcp.js"
import { tlsWorkloads } from "./tls.js"
import { unixWorkloads } from "./unix.js"

const byId = (id: string) => datagramWorkloads.filter((w) => w.id === id)

export const workloads: ReadonlyArray<Workload> = [
  ...tcpWorkloads, // W1–W3
  ...byId("W4"),
  ...byId("W4w"),
  ...unixWorkloads, // W5
  ...tlsWorkloads, // W6
  ...byId("W7"),
  ...fdWorkloads, // W8
  ...rpcWorkloads // W9
]
