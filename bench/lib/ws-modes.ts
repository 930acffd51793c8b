// What the two WebSocket benchmark servers (ws-pants.ts, ws-node.ts) share:
// their command-line modes and the broadcast's path and topic.

/** The path the publisher of the broadcast row connects to (bench/loadgen `--broadcast`). */
export const PUBLISH_PATH = '/publish';
/** The topic every other socket of the broadcast subscribes to. */
export const TOPIC = 'all';

export interface WsModes {
  /** Fan out what the publisher sends instead of echoing. */
  broadcast: boolean;
  /** Offer permessage-deflate. */
  compression: boolean;
}

export function wsModes(argv: string[]): WsModes {
  const known = ['--broadcast', '--compression'];
  const unknown = argv.slice(2).filter((arg) => !known.includes(arg));
  if (unknown.length > 0) {
    console.error(`unknown arguments ${unknown.join(' ')}; usage: [--broadcast] [--compression]`);
    process.exit(2);
  }
  return { broadcast: argv.includes('--broadcast'), compression: argv.includes('--compression') };
}
