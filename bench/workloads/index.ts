/** Every workload of the suite, in the order the table shows them. */
import type { Workload } from "../lib.js"
import { tcpWorkloads } from "./tcp.js"

export const workloads: ReadonlyArray<Workload> = [...tcpWorkloads]
