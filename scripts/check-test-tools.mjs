// `npm test` runs this first: the tests compare against real peers, and a
// missing tool would otherwise show up as hundreds of unrelated failures.
import { spawnSync } from 'node:child_process';

const TOOLS = [
  { command: 'cargo', args: ['--version'], why: 'builds and tests the Rust engine', install: 'https://rustup.rs' },
  { command: 'python3', args: ['--version'], why: "the Struct tests compare against CPython's struct module", install: 'apt-get install python3' },
  { command: 'openssl', args: ['version'], why: 'the TLS tests make their certificates and keys with it', install: 'apt-get install openssl' },
  { name: 'python3 websockets', command: 'python3', args: ['-c', 'import websockets'], why: 'the WebSocket interop tests use it as client and server', install: 'python3 -m pip install websockets' },
  { command: 'chromium', args: ['--version'], why: 'the WebSocket browser tests run it headless', install: 'apt-get install chromium' },
];

const missing = TOOLS.filter(({ command, args }) => spawnSync(command, args, { stdio: 'ignore' }).status !== 0);
if (missing.length > 0) {
  console.error('npm test needs tools that are not installed:');
  for (const { name, command, why, install } of missing) console.error(`  ${name ?? command}: ${why} (${install})`);
  process.exit(1);
}
