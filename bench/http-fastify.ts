// fastify with the routes of the `app` mode (lib/http-modes.ts): the
// baseline of the Application row. Prints its port, then serves until killed.
//
//   node build/bench/http-fastify.js

import Fastify from 'fastify';

import { announce, ROUTES } from './lib/http-modes.js';

const app = Fastify({ logger: false, keepAliveTimeout: 60_000 });
for (let n = 0; n < ROUTES; n++) {
  app.get<{ Params: { id: string } }>(`/route${n}/:id`, async (request, reply) => {
    const id = Number(request.params.id);
    if (!Number.isInteger(id)) return reply.code(404).send('Not Found\n');
    reply.type('text/plain; charset=utf-8');
    return `route ${n} item ${id}\n`;
  });
}

app.listen({ port: 0, host: '127.0.0.1' }).then(() => {
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  announce(address.port);
});
