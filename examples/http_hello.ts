// Hello, HTTP: an HTTPServer whose handler answers every request.
//   npm run build && node build/examples/http_hello.js   then   curl -i localhost:8080/
import { Engine } from 'pants-net';
import { HTTPRequest, HTTPServer } from 'pants-net/http';

export function hello(request: HTTPRequest): void {
  request.sendResponse(`Hello from ${request.path}\n`);
}

if (require.main === module) {
  new HTTPServer(hello).listen(8080);
  void Engine.instance().start();
}
