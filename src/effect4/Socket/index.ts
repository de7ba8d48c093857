/**
 * Connected byte streams: TCP clients (happy eyeballs of our own).
 *
 * @since 0.2.0
 */
export {
  /**
   * @since 0.2.0
   */
  connectTcp,
  /**
   * @since 0.2.0
   */
  type ConnectTcpOptions,
  /**
   * @since 0.2.0
   */
  setTcpOptions,
  /**
   * @since 0.2.0
   */
  type TcpSocketOptions,
  /**
   * @since 0.2.0
   */
  type TcpStream
} from "./Tcp.js"

// TODO(issue-18): wrapTls (TLS), connectUnix (UNIX + fds), Connectable, fromFd/fromNetSocket.
