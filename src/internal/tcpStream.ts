/** @internal */
import type * as net from "node:net"
import type { TcpStream } from "../Socket/Tcp.js"
import * as nodeStream from "./nodeStream.js"
import { inetAttributes } from "./nodeTcp.js"

/** @internal A TcpStream owning a connected TCP socket (client or accepted). */
export const makeTcpStream = (socket: net.Socket): TcpStream => nodeStream.make(socket, inetAttributes(socket))
