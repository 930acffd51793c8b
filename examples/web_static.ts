// Static files beside an application: a FileServer attached under /static/.
//   npm run build && node build/examples/web_static.js ./public   then   curl -i localhost:8080/static/
import { Application, FileServer } from 'pants-net/web';

export function siteApp(root: string): Application {
  const app = new Application();
  app.route('/', () => '<h1>Welcome</h1><p>The files are under <a href="/static/">/static/</a>.</p>');
  new FileServer(root, { listing: true }).attach(app, '/static/');
  return app;
}

if (require.main === module) siteApp(process.argv[2] ?? '.').run(8080);
