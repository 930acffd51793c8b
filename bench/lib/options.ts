// Command-line options of the benchmark runner (bench/run.ts).

import * as path from 'node:path';

export interface Options {
  /** Alternating rounds per row; the reported figure is their median. */
  rounds: number;
  /** Measured seconds per network run. */
  duration: number;
  /** Seconds run before the measured window (JIT warmup, connection setup). */
  warmup: number;
  /** Run only rows whose name contains this text. */
  filter: string | null;
  /** Leave out the native ceiling server. */
  noNative: boolean;
  out: string;
  svg: string;
  quick: boolean;
}

export const ROOT = path.resolve(__dirname, '..', '..', '..');
/** Where cargo puts the load generator and native-echo: $CARGO_TARGET_DIR, else target/. */
export const TARGET_DIR = process.env.CARGO_TARGET_DIR ? path.resolve(process.env.CARGO_TARGET_DIR) : path.join(ROOT, 'target');
/** Where the compiled bench scripts are: build/bench/. */
export const BENCH_BUILD_DIR = path.resolve(__dirname, '..');

export const USAGE =
  'usage: node build/bench/run.js [--quick] [--rounds N] [--duration S] [--warmup S]\n' +
  '                               [--filter TEXT] [--no-native] [--out FILE.md] [--svg FILE.svg]';

export function parseOptions(argv: string[]): Options {
  const opts: Options = {
    rounds: 3,
    duration: 3,
    warmup: 1,
    filter: null,
    noNative: false,
    out: path.join(ROOT, 'bench', 'results.md'),
    svg: path.join(ROOT, 'bench', 'results.svg'),
    quick: false,
  };
  const number = (flag: string, value: string | undefined, allowZero = false): number => {
    const n = Number(value);
    if (value === undefined || !Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) {
      throw new Error(`${flag} needs a ${allowZero ? 'non-negative' : 'positive'} number`);
    }
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    switch (arg) {
      case '--quick':
        // One short round of everything, smaller counts: a smoke test.
        opts.quick = true;
        opts.rounds = 1;
        opts.duration = 0.5;
        opts.warmup = 0.25;
        break;
      case '--rounds':
        opts.rounds = Math.round(number(arg, argv[++i]));
        break;
      case '--duration':
        opts.duration = number(arg, argv[++i]);
        break;
      case '--warmup':
        opts.warmup = number(arg, argv[++i], true);
        break;
      case '--filter':
        opts.filter = argv[++i] ?? '';
        break;
      case '--no-native':
        opts.noNative = true;
        break;
      case '--out':
        opts.out = path.resolve(argv[++i] ?? opts.out);
        break;
      case '--svg':
        opts.svg = path.resolve(argv[++i] ?? opts.svg);
        break;
      case '-h':
      case '--help':
        console.log(USAGE);
        process.exit(0);
      default:
        throw new Error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
    }
  }
  return opts;
}
