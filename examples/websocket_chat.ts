// The tutorial's chat (every line to everyone) over WebSocket, in a browser:
// an Application serves the page at / and upgrades /chat/<room>; each room
// is a topic, so a line is framed once and queued on every member in one call.
//   npm run build && node build/examples/websocket_chat.js   then open http://localhost:8080/ in two tabs
import { HTTPRequest, WebSocket } from 'pants-net/http';
import { Application } from 'pants-net/web';

export class ChatSocket extends WebSocket {
  room = '';

  override onHandshake(request: HTTPRequest): boolean {
    return /^[\w-]{1,32}$/.test(request.path.split('/').pop() ?? ''); // else 403
  }

  override onConnect(room: string): void {
    this.room = room;
    this.subscribe(room);
    this.publish(room, `${this.name()} joined ${room}`);
  }

  override onRead(line: string | Buffer): void {
    this.publish(this.room, `${this.name()}: ${line}`);
  }

  override onClose(): void {
    // Closed sockets have left their topics: tell the others.
    WebSocket.publish(this.room, `${this.name()} left`, false, this.engine);
  }

  private name(): string {
    const address = this.remoteAddress;
    return Array.isArray(address) ? `${address[0]}:${address[1]}` : 'someone';
  }
}

/** The page: it joins the room named in its URL's hash (default "lobby"). */
export const PAGE = `<!doctype html>
<meta charset="utf-8"><title>Pants chat</title>
<ul id="lines"></ul>
<form id="say"><input id="line" autocomplete="off" autofocus><button>Send</button></form>
<script>
  const room = location.hash.slice(1) || 'lobby';
  const socket = new WebSocket('ws://' + location.host + '/chat/' + room);
  socket.onmessage = (event) => {
    const item = document.createElement('li');
    item.textContent = event.data;
    document.getElementById('lines').append(item);
  };
  document.getElementById('say').onsubmit = (event) => {
    event.preventDefault();
    socket.send(document.getElementById('line').value);
    document.getElementById('line').value = '';
  };
</script>
`;

export function chatApp(): Application {
  const app = new Application();
  app.route('/', () => PAGE);
  app.route('/chat/<room>', ChatSocket);
  return app;
}

if (require.main === module) chatApp().run(Number(process.env.PORT ?? 8080));
