// A small JSON API with pants-net/web: routes with typed values, results that
// become responses, a middleware, and errors as statuses.
//   npm run build && node build/examples/web_api.js   then   curl -i localhost:8080/todos
//   curl -i -H 'X-Token: secret' -d '{"title":"write docs"}' localhost:8080/todos
import { HTTPRequest } from 'pants-net/http';
import { abort, Application } from 'pants-net/web';

interface Todo {
  id: number;
  title: string;
  done: boolean;
}

export function todoApp(token: string): Application {
  const todos = new Map<number, Todo>();
  let nextId = 1;
  const app = new Application();

  // Changes need the token; reading does not.
  app.use((request, next) => {
    if (request.method !== 'GET' && request.method !== 'HEAD' && request.headers.get('x-token') !== token) abort(401, 'wrong token');
    return next();
  });

  app.route('/todos', () => [...todos.values()]);

  app.route('/todos', (request: HTTPRequest) => {
    const { title } = request.json() as { title?: unknown };
    if (typeof title !== 'string' || title === '') abort(400, 'a todo needs a title');
    const todo = { id: nextId++, title, done: false };
    todos.set(todo.id, todo);
    return [todo, 201, { Location: app.urlFor('todo', { id: todo.id }) }];
  }, { methods: ['POST'] });

  app.route('/todos/<int:id>', function todo(_request, id: number) {
    return todos.get(id) ?? abort(404, `no todo ${id}`);
  });

  app.route('/todos/<int:id>/done', (_request, id: number) => {
    const todo = todos.get(id) ?? abort(404, `no todo ${id}`);
    todo.done = true;
    return todo;
  }, { methods: ['POST'] });

  return app;
}

if (require.main === module) todoApp('secret').run(8080);
