/**
 * Datagram sockets: UDP (unconnected and connected) and UNIX datagram sockets, all of one
 * shape (`DatagramSocket`, `ConnectedDatagramSocket`). The Effect 4 edition of
 * `effect-sockets/Datagram`: the same API, on the same drivers.
 *
 * @since 0.2.0
 */
export {
  /**
   * @since 0.2.0
   */
  type ConnectedDatagramSocket,
  /**
   * @since 0.2.0
   */
  type DatagramReceiveError,
  /**
   * @since 0.2.0
   */
  type DatagramSendError,
  /**
   * @since 0.2.0
   */
  type DatagramSocket
} from "./DatagramSocket.js"

export {
  /**
   * @since 0.2.0
   */
  type ConnectedUdpSocket,
  /**
   * @since 0.2.0
   */
  createConnectedUdpSocket,
  /**
   * @since 0.2.0
   */
  createUdpSocket,
  /**
   * @since 0.2.0
   */
  type UdpEndpoint,
  /**
   * @since 0.2.0
   */
  type UdpOptions,
  /**
   * @since 0.2.0
   */
  type UdpSocket,
  /**
   * @since 0.2.0
   */
  type UdpSocketBase
} from "./Udp.js"
export {
  /**
   * @since 0.2.0
   */
  type ConnectedUnixDatagramSocket,
  /**
   * @since 0.2.0
   */
  createConnectedUnixDatagramSocket,
  /**
   * @since 0.2.0
   */
  createUnixDatagramSocket,
  /**
   * @since 0.2.0
   */
  type UnixDatagramOptions,
  /**
   * @since 0.2.0
   */
  type UnixDatagramSocket,
  /**
   * @since 0.2.0
   */
  type UnixSender
} from "./Unix.js"

export {
  /**
   * @since 0.2.0
   */
  fromFd,
  /**
   * @since 0.2.0
   */
  fromSystemd
} from "./Adopt.js"
