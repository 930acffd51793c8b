// The npm package as users get it: `npm pack`, installed from the tarball into
// an empty directory, then used from CommonJS, ES modules and TypeScript
// against a node:net client; and the optional platform package as the
// fallback for the native binary.
import test from 'ava';
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const SLOW = 180_000;

/** This machine's locally built binary (`pants.<tag>.node` at the root), e.g. `linux-x64-gnu`. */
const tag = readdirSync(ROOT)
  .map((file) => /^pants-net\.(.+)\.node$/.exec(file)?.[1])
  .find((found) => found?.startsWith(`${process.platform}-${process.arch}`));

let workDir = '';
let tarball = '';
let appDir = '';

/** Runs npm in `cwd` without the npm_* settings of an enclosing `npm test`; returns its stdout. */
function npm(args: string[], cwd: string): string {
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
  const result = spawnSync('npm', args, { cwd, env, encoding: 'utf8', shell: process.platform === 'win32' });
  if (result.status !== 0) {
    throw new Error(`npm ${args.join(' ')} failed (${result.error?.message ?? `exit ${result.status}`}):\n${result.stderr}`);
  }
  return result.stdout;
}

/** `npm pack` of the package in `dir` into the work directory; returns the tarball's path. */
function pack(dir: string): string {
  const [{ filename }] = JSON.parse(npm(['pack', '--ignore-scripts', '--json', '--pack-destination', workDir, dir], ROOT)) as [
    { filename: string },
  ];
  return join(workDir, filename);
}

/**
 * `npm pack` of the repository as a release would run it, lifecycle scripts
 * included (`prepack` writes the shipped manifest), from a copy of the files
 * it ships so the repository's own package.json is never touched.
 */
function packRelease(): string {
  const stage = join(workDir, 'stage');
  mkdirSync(stage);
  const shipped = ['package.json', 'README.md', 'LICENSE', 'scripts', 'dist', 'ts', ...readdirSync(ROOT).filter((file) => file.endsWith('.node'))];
  for (const entry of shipped) cpSync(join(ROOT, entry), join(stage, entry), { recursive: true });
  const [{ filename }] = JSON.parse(npm(['pack', '--json', '--pack-destination', workDir], stage).replace(/^[^[]*/, '')) as [{ filename: string }];
  return join(workDir, filename);
}

/** Installs tarballs into the app without touching the network (the platform package is not published). */
function install(...tarballs: string[]): void {
  npm(['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts', '--omit=optional', ...tarballs], appDir);
}

const ECHO_BODY = `
class Echo extends Stream {
  onRead(data) {
    this.write(data);
  }
}

const server = new Server({ ConnectionClass: Echo }).listen(['127.0.0.1', 0]);
console.log(server.localAddress[1]);
void Engine.instance().start();
`;

const ECHO_CJS = `const { Engine, Server, Stream } = require('pants-net');\n${ECHO_BODY}`;

const ECHO_ESM = `import { createRequire } from 'node:module';
import pants from 'pants-net';

const { Engine, Server, Stream } = await import('pants-net');
if (createRequire(import.meta.url)('pants-net').Stream !== Stream) throw new Error('import and require gave two copies of pants');
if (pants.Stream !== Stream) throw new Error('the default export is not the namespace');
${ECHO_BODY}`;

/** Connects to `port`, retrying while the program is still starting to listen. */
async function connectTo(port: number, exited: Promise<never>): Promise<net.Socket> {
  for (;;) {
    const socket = net.connect(port, '127.0.0.1');
    const connected = await Promise.race([
      new Promise<boolean>((resolve) => {
        socket.once('connect', () => resolve(true));
        socket.once('error', () => resolve(false));
      }),
      exited,
    ]);
    if (connected) return socket;
    socket.destroy();
    await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), exited]);
  }
}

/**
 * Runs an echo program of the app, sends it a line with node:net and resolves
 * with the reply. The program listens on `port`, or prints the port it got.
 */
async function echoThrough(program: string, port?: number): Promise<string> {
  const child = spawn(process.execPath, [program], { cwd: appDir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<never>((_, reject) => {
    child.once('exit', (code) => reject(new Error(`${program} exited (code ${code}):\n${stderr}`)));
  });
  exited.catch(() => undefined);
  try {
    const printed = new Promise<number>((resolve) => {
      child.stdout.setEncoding('utf8').once('data', (line: string) => resolve(Number(line.trim())));
    });
    const socket = await connectTo(port ?? (await Promise.race([printed, exited])), exited);
    try {
      return await new Promise<string>((resolve, reject) => {
        let received = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => {
          received += chunk;
          if (received.endsWith('\r\n')) resolve(received);
        });
        socket.once('error', reject);
        socket.write('ping from node:net\r\n');
      });
    } finally {
      socket.destroy();
    }
  } finally {
    child.kill();
  }
}

/** A port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/** The first fenced block of `language` in the README. */
function readmeBlock(language: string): string {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const found = new RegExp(`^\`\`\`${language}\n([\\s\\S]*?)^\`\`\`$`, 'm').exec(readme);
  if (found === null) throw new Error(`README.md has no ${language} block`);
  return found[1];
}

/** Runs `tsc` on files of the app; resolves with its exit status and output. */
function tsc(...args: string[]): { status: number | null; output: string } {
  const compiler = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const common = ['--strict', '--module', 'nodenext', '--moduleResolution', 'nodenext', '--typeRoots', join(ROOT, 'node_modules', '@types'), '--types', 'node'];
  const result = spawnSync(process.execPath, [compiler, ...common, ...args], { cwd: appDir, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test.before('npm pack, then install the tarball into an empty directory', (t) => {
  t.timeout(SLOW);
  workDir = mkdtempSync(join(tmpdir(), 'pants-package-'));
  appDir = join(workDir, 'app');
  mkdirSync(appDir);
  writeFileSync(join(appDir, 'package.json'), JSON.stringify({ name: 'pants-smoke-test', private: true }));
  tarball = packRelease();
  install(tarball);
  writeFileSync(join(appDir, 'echo.cjs'), ECHO_CJS);
  writeFileSync(join(appDir, 'echo.mjs'), ECHO_ESM);
});

test.after.always('remove the temporary directory', () => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

test.serial('the installed package runs an echo server with require()', async (t) => {
  t.timeout(SLOW);
  t.is(await echoThrough('echo.cjs'), 'ping from node:net\r\n');
});

test.serial('the installed package runs an echo server with import(), the same classes as require()', async (t) => {
  t.timeout(SLOW);
  t.is(await echoThrough('echo.mjs'), 'ping from node:net\r\n');
});

test.serial("the README's first program runs as TypeScript and, in its JavaScript form, as an ES module", async (t) => {
  t.timeout(SLOW);
  for (const [language, file] of [['ts', 'readme.ts'], ['js', 'readme.mjs']]) {
    const port = await freePort();
    const program = readmeBlock(language).replace('listen(4040)', `listen(${port})`);
    t.not(program, readmeBlock(language), `the ${language} program listens on 4040`);
    writeFileSync(join(appDir, file), program);
    let run = file;
    if (language === 'ts') {
      const compiled = tsc('--outDir', 'out', file);
      t.is(compiled.status, 0, compiled.output);
      run = join('out', 'readme.js');
    }
    t.is(await echoThrough(run, port), 'ping from node:net\r\n', file);
  }
});

test.serial('the tarball ships a LICENSE, the sources its maps point at, no install scripts, in under 4 MB', (t) => {
  t.timeout(SLOW);
  const listing = spawnSync('tar', ['tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
  t.true(listing.includes('package/LICENSE'));
  t.true(listing.includes('package/ts/stream.ts'));
  t.true(listing.includes('package/dist/stream.js.map'));
  const manifest = JSON.parse(spawnSync('tar', ['xzf', tarball, '-O', 'package/package.json'], { encoding: 'utf8' }).stdout) as Record<string, unknown>;
  t.is(manifest.scripts, undefined);
  t.is(manifest.devDependencies, undefined);
  t.truthy(manifest.exports);
  t.true(statSync(tarball).size < 4 * 1024 * 1024, `${statSync(tarball).size} bytes`);
  t.true(existsSync(join(ROOT, 'package.json')) && !existsSync(join(ROOT, 'package.json.development')));
});

test.serial('TypeScript finds the types of both entries through the exports map', (t) => {
  t.timeout(SLOW);
  const esm = `import { Engine, Server, Stream, type Address } from 'pants-net';

class Echo extends Stream {
  override onRead(data: Buffer): void {
    this.write(data);
  }
}

const address: Address = ['127.0.0.1', 0];
const server: Server = new Server({ ConnectionClass: Echo }).listen(address);
const engine: Engine = server.engine;
void engine;
`;
  const cjs = `import pants = require('pants-net');

const timer: pants.Timer = pants.Engine.instance().defer(1, () => undefined);
timer.cancel();
// @ts-expect-error: readDelimiter takes no booleans
new pants.Stream().readDelimiter = true;
`;
  writeFileSync(join(appDir, 'check.mts'), esm);
  writeFileSync(join(appDir, 'check.cts'), cjs);
  const result = tsc('--noEmit', 'check.mts', 'check.cts');
  t.is(result.status, 0, result.output);
});

test.serial('without the bundled binary, the package loads the one of its platform package', (t) => {
  t.timeout(SLOW);
  if (tag === undefined) return t.pass('no binary built for this platform');
  const platformDir = join(workDir, `platform-${tag}`);
  cpSync(join(ROOT, 'npm', tag), platformDir, { recursive: true });
  cpSync(join(ROOT, `pants-net.${tag}.node`), join(platformDir, `pants-net.${tag}.node`));
  install(pack(platformDir));
  rmSync(join(appDir, 'node_modules', 'pants-net', `pants-net.${tag}.node`));
  t.true(existsSync(join(appDir, 'node_modules', `pants-net-${tag}`, `pants-net.${tag}.node`)));
  const result = spawnSync(process.execPath, ['-e', "console.log(typeof require('pants-net').Engine.instance().start)"], {
    cwd: appDir,
    encoding: 'utf8',
  });
  t.is(result.stdout.trim(), 'function', result.stderr);
});

test.serial('with no binary at all, loading the package fails with an error that names the platform', (t) => {
  t.timeout(SLOW);
  if (tag === undefined) return t.pass('no binary built for this platform');
  rmSync(join(appDir, 'node_modules', 'pants-net', `pants-net.${tag}.node`), { force: true });
  rmSync(join(appDir, 'node_modules', `pants-net-${tag}`), { recursive: true, force: true });
  const result = spawnSync(process.execPath, ['-e', "require('pants-net')"], { cwd: appDir, encoding: 'utf8' });
  t.not(result.status, 0);
  t.regex(result.stderr, new RegExp(`no native binary for this platform \\(${tag}\\).*pants-net-${tag}`));
});
