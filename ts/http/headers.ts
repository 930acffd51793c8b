/**
 * Request and response headers: a case-insensitive map that keeps repeated
 * headers (`getAll`), shaped like the WHATWG `Headers` users know.
 */
export class HTTPHeaders implements Iterable<[string, string]> {
  /** Values by lower-case name, in arrival order. */
  readonly #values = new Map<string, string[]>();
  /** The name as first sent, by lower-case name. */
  readonly #names = new Map<string, string>();

  /** Headers from pairs or a record (array values are repeated headers). */
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string | readonly string[] | number>) {
    if (init === undefined) return;
    const pairs = Symbol.iterator in init ? (init as Iterable<readonly [string, string]>) : Object.entries(init);
    for (const [name, value] of pairs) {
      for (const one of Array.isArray(value) ? value : [value]) this.append(name, String(one));
    }
  }

  /** Adds a value, keeping earlier ones. */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const values = this.#values.get(key);
    if (values === undefined) {
      this.#values.set(key, [value]);
      this.#names.set(key, name);
    } else {
      values.push(value);
    }
  }

  /** Replaces every value of `name`. */
  set(name: string, value: string): void {
    this.delete(name);
    this.append(name, value);
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    this.#values.delete(name.toLowerCase());
    this.#names.delete(name.toLowerCase());
  }

  /**
   * The value of `name`, or `null`. Repeated headers are joined with `', '`
   * (`Set-Cookie` lines, which cannot be joined, are read with `getAll`).
   */
  get(name: string): string | null {
    return this.#values.get(name.toLowerCase())?.join(', ') ?? null;
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): string[] {
    return [...(this.#values.get(name.toLowerCase()) ?? [])];
  }

  /** True when `name` is present. */
  has(name: string): boolean {
    return this.#values.has(name.toLowerCase());
  }

  /** The number of distinct names. */
  get size(): number {
    return this.#values.size;
  }

  /** `[lower-case name, value]` for each value, repeated headers one by one. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const [key, values] of this.#values) for (const value of values) yield [key, value];
  }

  /** Same as iterating. */
  entries(): IterableIterator<[string, string]> {
    return this[Symbol.iterator]();
  }

  /** Each distinct lower-case name. */
  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  /** `[name as first sent, value]` for each value: how the headers go on the wire. @internal */
  *lines(): IterableIterator<[string, string]> {
    for (const [key, values] of this.#values) {
      const name = this.#names.get(key) ?? key;
      for (const value of values) yield [name, value];
    }
  }

  /** A plain object, repeated headers as arrays (for logging and JSON). */
  toJSON(): Record<string, string | string[]> {
    return Object.fromEntries([...this.#values].map(([key, values]) => [key, values.length === 1 ? values[0] : [...values]]));
  }
}
