// What the HTTP benchmark servers answer, the same for Pants, node:http and
// fastify: `--mode hello` "Hello, World!\n" on /; `--mode app` the same
// behind 50 routes, the request hitting the last (/route49/<int>); `--mode
// file` /static/file.bin from `--root`; `--mode json` POST /echo answering
// the parsed JSON body as JSON.

export type Mode = 'hello' | 'app' | 'file' | 'json';

export const HELLO = 'Hello, World!\n';
/** Routes of the `app` mode; the benchmark asks for the last. */
export const ROUTES = 50;

export function parseArgs(argv: string[]): { mode: Mode; root: string } {
  const at = (flag: string): string | undefined => {
    const index = argv.indexOf(flag);
    return index < 0 ? undefined : argv[index + 1];
  };
  const mode = (at('--mode') ?? 'hello') as Mode;
  if (!['hello', 'app', 'file', 'json'].includes(mode)) throw new Error(`unknown --mode ${mode}`);
  return { mode, root: at('--root') ?? '.' };
}

/** Prints the port the benchmark connects to. */
export function announce(port: number): void {
  process.stdout.write(`${port}\n`);
}
