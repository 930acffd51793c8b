// An HTTP client: JSON from an API, and a large download written to a file
// as it arrives, with progress from a subclass's onProgress.
//   npm run build && node build/examples/http_client.js https://example.com/ /tmp/page.html
import { closeSync, openSync, writeSync } from 'node:fs';
import { Engine } from 'pants-net';
import { HTTPClient, HTTPResponse } from 'pants-net/http';

export async function createTodo(client: HTTPClient, base: string, title: string): Promise<unknown> {
  const response = await client.post(`${base}/todos`, { body: { title }, headers: { accept: 'application/json' } });
  if (response.status !== 201) throw new Error(`${response.status} ${response.statusText}: ${response.text()}`);
  return response.json();
}

export class Downloader extends HTTPClient {
  override onProgress(response: HTTPResponse, received: number, total: number | null): void {
    if (total !== null) process.stdout.write(`\r${response.url}: ${Math.floor((100 * received) / total)}%`);
  }

  /** Writes the body of `url` to `path` piece by piece; resolves with the bytes written. */
  async download(url: string, path: string): Promise<number> {
    const file = openSync(path, 'w');
    let written = 0;
    try {
      await this.get(url, { onData: (piece) => (written += writeSync(file, piece)) });
    } finally {
      closeSync(file);
    }
    return written;
  }
}

if (require.main === module) {
  const engine = Engine.instance();
  void engine.start();
  const [url = 'https://example.com/', path = 'download.out'] = process.argv.slice(2);
  const client = new Downloader({ engine, timeout: 60 });
  client
    .download(url, path)
    .then((bytes) => console.log(`\n${bytes} bytes written to ${path}`))
    .catch((error: { code?: string; message: string }) => console.error(`\nfailed: ${error.code ?? ''} ${error.message}`))
    .finally(() => {
      client.close();
      engine.stop();
    });
}
