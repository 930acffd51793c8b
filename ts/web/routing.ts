/**
 * Route rules (`/user/<int:id>`) compiled once into a matcher, and routes
 * indexed so a request tests only the rules that can match it: static
 * paths by a map lookup, the rest by their first literal segment.
 */

/** A value taken from the path by a rule's converter. */
export type RouteValue = string | number;

interface Converter {
  /** The pattern of the value, without groups of its own. */
  pattern: string;
  /** The value from its text. */
  convert: (text: string) => RouteValue;
  /** The text of a value, for `urlFor`. */
  format: (value: RouteValue) => string;
}

const encodeSegment = (value: RouteValue): string => encodeURIComponent(String(value));
const encodePath = (value: RouteValue): string => String(value).split('/').map(encodeURIComponent).join('/');

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The converter of `<kind(args):name>`. */
function converterOf(kind: string, args: string, rule: string): Converter {
  switch (kind) {
    case '':
    case 'string':
      return { pattern: '[^/]+', convert: (text) => text, format: encodeSegment };
    case 'int':
      return { pattern: '\\d+', convert: Number, format: encodeSegment };
    case 'float':
      return { pattern: '\\d+(?:\\.\\d+)?', convert: Number, format: encodeSegment };
    case 'path':
      return { pattern: '.+', convert: (text) => text, format: encodePath };
    case 'any': {
      const choices = args.split(',').map((choice) => choice.trim()).filter((choice) => choice !== '');
      if (choices.length === 0) throw new TypeError(`route ${rule}: <any(...)> needs at least one choice`);
      return { pattern: `(?:${choices.map(escapeRegExp).join('|')})`, convert: (text) => text, format: encodeSegment };
    }
    case 'regex': {
      const quoted = /^\s*(["'])(.*)\1\s*$/.exec(args);
      if (quoted === null) throw new TypeError(`route ${rule}: <regex(...)> takes a quoted pattern`);
      // Capturing groups inside would shift the rule's own; make them non-capturing.
      const pattern = quoted[2].replace(/\\.|\((?!\?)/g, (found) => (found === '(' ? '(?:' : found));
      new RegExp(pattern);
      return { pattern: `(?:${pattern})`, convert: (text) => text, format: encodeSegment };
    }
    default:
      throw new TypeError(`route ${rule}: unknown converter <${kind}:...>`);
  }
}

/** One part of a rule: literal text, or a named value. */
type Part = { literal: string } | { name: string; converter: Converter };

/** A rule compiled: its matcher, the names of its values, and what indexes it. */
export class Rule {
  /** The rule as written. */
  readonly text: string;
  /** Value names, in order. */
  readonly names: string[];
  /** The whole path when the rule has no values (matched by a map lookup). */
  readonly staticPath: string | null;
  /** The first path segment when it is literal (`'user'` for `/user/<id>`), else `null`. */
  readonly firstSegment: string | null;
  readonly #parts: Part[];
  readonly #pattern: RegExp;
  /** The converter of each value, in order. */
  readonly #converters: Converter[];

  constructor(text: string) {
    if (!text.startsWith('/')) throw new TypeError(`route ${JSON.stringify(text)} must start with '/'`);
    this.text = text;
    this.#parts = [];
    let at = 0;
    for (const match of text.matchAll(/<(?:(\w+)(?:\((.*?)\))?:)?(\w+)>/g)) {
      if (match.index > at) this.#parts.push({ literal: text.slice(at, match.index) });
      const [, kind = '', args = '', name] = match;
      this.#parts.push({ name, converter: converterOf(kind, args, text) });
      at = match.index + match[0].length;
    }
    if (at < text.length) this.#parts.push({ literal: text.slice(at) });
    this.names = this.#parts.flatMap((part) => ('name' in part ? [part.name] : []));
    this.#converters = this.#parts.flatMap((part) => ('name' in part ? [part.converter] : []));
    if (new Set(this.names).size !== this.names.length) throw new TypeError(`route ${text}: a value name is used twice`);
    if (/[<>]/.test(this.#parts.map((part) => ('literal' in part ? part.literal : '')).join(''))) {
      throw new TypeError(`route ${text}: malformed <...>`);
    }
    const source = this.#parts.map((part) => ('literal' in part ? escapeRegExp(part.literal) : `(${part.converter.pattern})`)).join('');
    this.#pattern = new RegExp(`^${source}$`);
    this.staticPath = this.names.length === 0 ? text : null;
    const first = this.#parts[0];
    const literalSegment = 'literal' in first ? /^\/([^/]+)\//.exec(first.literal)?.[1] : undefined;
    this.firstSegment = literalSegment ?? null;
  }

  /** The rule's values for `path`, or `null` when it does not match. */
  match(path: string): RouteValue[] | null {
    const found = this.#pattern.exec(path);
    if (found === null) return null;
    const converters = this.#converters;
    const values: RouteValue[] = new Array<RouteValue>(converters.length);
    for (let n = 0; n < converters.length; n++) values[n] = converters[n].convert(found[n + 1]);
    return values;
  }

  /** The path for `values`; values the rule does not name go to the query string. */
  build(values: Record<string, RouteValue>): string {
    const path = this.#parts
      .map((part) => {
        if ('literal' in part) return part.literal;
        const value = values[part.name];
        if (value === undefined) throw new TypeError(`urlFor ${this.text}: no value for <${part.name}>`);
        if (!new RegExp(`^(?:${part.converter.pattern})$`).test(String(value))) {
          throw new TypeError(`urlFor ${this.text}: ${JSON.stringify(value)} does not fit <${part.name}>`);
        }
        return part.converter.format(value);
      })
      .join('');
    const extra = Object.entries(values).filter(([name]) => !this.names.includes(name));
    return extra.length === 0 ? path : `${path}?${new URLSearchParams(extra.map(([name, value]) => [name, String(value)])).toString()}`;
  }
}

/** Rules indexed for matching: exact paths in a map, the others by first literal segment. */
export class RouteIndex<R extends { rule: Rule }> {
  readonly #static = new Map<string, R[]>();
  readonly #bySegment = new Map<string, R[]>();
  readonly #rest: R[] = [];
  /** Where each route was added, to keep that order among candidates. */
  readonly #order = new Map<R, number>();
  /** Every route, in the order added. */
  readonly all: R[] = [];

  add(route: R): void {
    this.#order.set(route, this.all.length);
    this.all.push(route);
    const { staticPath, firstSegment } = route.rule;
    if (staticPath !== null) push(this.#static, staticPath, route);
    else if (firstSegment !== null) push(this.#bySegment, firstSegment, route);
    else this.#rest.push(route);
  }

  /** Routes matching `path`, with their values, in the order they were added. */
  *matches(path: string): IterableIterator<[R, RouteValue[]]> {
    for (const route of this.candidates(path)) {
      const values = route.rule.match(path);
      if (values !== null) yield [route, values];
    }
  }

  /** The routes that may match `path` (test each with `rule.match`), in the order they were added. */
  candidates(path: string): readonly R[] {
    const exact = this.#static.get(path);
    const segment = segmentOf(path);
    const bySegment = segment === null ? undefined : this.#bySegment.get(segment);
    // Usually one list holds them all, already in order.
    if (exact === undefined && this.#rest.length === 0) return bySegment ?? [];
    if (bySegment === undefined && this.#rest.length === 0) return exact ?? [];
    if (exact === undefined && bySegment === undefined) return this.#rest;
    const candidates = [...(exact ?? []), ...(bySegment ?? []), ...this.#rest];
    candidates.sort((a, b) => (this.#order.get(a) ?? 0) - (this.#order.get(b) ?? 0));
    return candidates;
  }
}

/** The first segment of `path` when another follows (`'user'` for `/user/7`), else `null`. */
function segmentOf(path: string): string | null {
  if (!path.startsWith('/')) return null;
  const end = path.indexOf('/', 1);
  return end > 1 ? path.slice(1, end) : null;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
