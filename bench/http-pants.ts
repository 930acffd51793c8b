// The Pants HTTP server of the benchmark (pants-net/http and pants-net/web); see
// lib/http-modes.ts for what each mode answers. Prints its port, then serves
// until killed.
//
//   node build/bench/http-pants.js [--mode hello|app|file|json] [--root DIR]

import { join } from 'node:path';
import { Engine } from 'pants-net';
import { HTTPRequest, HTTPServer } from 'pants-net/http';
import { Application, FileServer } from 'pants-net/web';

import { announce, HELLO, parseArgs, ROUTES } from './lib/http-modes.js';

const { mode, root } = parseArgs(process.argv);
const hello = Buffer.from(HELLO);

function handlerFor(): ConstructorParameters<typeof HTTPServer>[0] {
  switch (mode) {
    case 'hello':
      return (request: HTTPRequest) => request.sendResponse(hello);
    case 'json':
      return (request: HTTPRequest) => request.sendJSON(request.json());
    case 'app': {
      const app = new Application();
      for (let n = 0; n < ROUTES; n++) app.route(`/route${n}/<int:id>`, (_request, id: number) => `route ${n} item ${id}\n`);
      return app;
    }
    case 'file': {
      const app = new Application();
      new FileServer(join(root)).attach(app, '/static/');
      return app;
    }
  }
}

const server = new HTTPServer(handlerFor()).listen(['127.0.0.1', 0]);
const address = server.localAddress;
if (!Array.isArray(address)) throw new Error(`unexpected local address ${JSON.stringify(address)}`);
announce(address[1]);
void Engine.instance().start();
