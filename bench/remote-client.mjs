// Raw node:net / node:tls ping-pong clients, run by bench/raw.ts's remoteClients in a process of
// their own (plain JS: starts fast on any Node line, loads no Effect). Argument: one JSON object
// { host, port, connections, rounds, ca? } (TLS when `ca`, the PEM to trust). Connects every
// client first, then times `rounds` round trips of 64 bytes on each, all at once; prints
// { "value": round trips per second }.
import * as net from "node:net"
import * as tls from "node:tls"

const { host, port, connections, rounds, ca } = JSON.parse(process.argv[2])
const PING = Buffer.alloc(64, 0x62)

const connect = () =>
  new Promise((resolve, reject) => {
    const socket = ca
      ? tls.connect({ host, port, ca }, () => resolve(socket))
      : net.connect({ host, port, noDelay: true }, () => resolve(socket))
    socket.setNoDelay(true)
    socket.once("error", reject)
  })

const pingPong = (socket) =>
  new Promise((resolve, reject) => {
    let got = 0
    let left = rounds
    socket.once("error", reject)
    socket.on("data", (data) => {
      got += data.length
      if (got < PING.length) return
      got -= PING.length
      if (--left === 0) resolve()
      else socket.write(PING)
    })
    socket.write(PING)
  })

const sockets = []
for (let i = 0; i < connections; i += 50) {
  sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, connections - i) }, connect))))
}
const start = performance.now()
await Promise.all(sockets.map(pingPong))
const seconds = (performance.now() - start) / 1000
for (const socket of sockets) socket.destroy()
console.log(JSON.stringify({ value: (connections * rounds) / seconds }))
process.exit(0)
