// A UDP echo server: every datagram goes back to its sender.
//   node build/examples/udp_echo.js   then   nc -u localhost 4040
import { Datagram, Engine } from 'pants-net';

export class UdpEcho extends Datagram {
  override onRead(packet: Buffer): void {
    this.write(packet); // to remoteAddress: the packet's sender
  }
}

if (require.main === module) {
  const port = Number(process.env.PORT ?? 4040);
  new UdpEcho().listen(['', port]);
  console.log(`UDP echo on port ${port}: nc -u localhost ${port}`);
  void Engine.instance().start();
}
