/** The values of one name, and that name as first sent. */
interface Field {
  name: string;
  values: string[];
}

/**
 * Request and response headers: a case-insensitive map that keeps repeated
 * headers (`getAll`), shaped like the WHATWG `Headers` users know.
 */
export class HTTPHeaders implements Iterable<[string, string]> {
  /** By lower-case name, in arrival order. */
  readonly #fields = new Map<string, Field>();

  /** Headers from pairs or a record (array values are repeated headers). */
  constructor(init?: Iterable<readonly [string, string]> | Record<string, string | readonly string[] | number>) {
    if (init === undefined) return;
    if (Symbol.iterator in init) {
      for (const [name, value] of init as Iterable<readonly [string, string]>) this.append(name, String(value));
      return;
    }
    for (const name in init) {
      if (!Object.hasOwn(init, name)) continue;
      const value = init[name];
      if (Array.isArray(value)) for (const one of value) this.append(name, String(one));
      else this.append(name, String(value));
    }
  }

  /** Adds a value, keeping earlier ones. */
  append(name: string, value: string): void {
    const key = name.toLowerCase();
    const field = this.#fields.get(key);
    if (field === undefined) this.#fields.set(key, { name, values: [value] });
    else field.values.push(value);
  }

  /** Replaces every value of `name`. */
  set(name: string, value: string): void {
    const key = name.toLowerCase();
    this.#fields.delete(key);
    this.#fields.set(key, { name, values: [value] });
  }

  /** Removes every value of `name`. */
  delete(name: string): void {
    this.#fields.delete(name.toLowerCase());
  }

  /**
   * The value of `name`, or `null`. Repeated headers are joined with `', '`
   * (`Set-Cookie` lines, which cannot be joined, are read with `getAll`).
   */
  get(name: string): string | null {
    const values = this.#fields.get(name.toLowerCase())?.values;
    if (values === undefined) return null;
    return values.length === 1 ? values[0] : values.join(', ');
  }

  /** Every value of `name`, in order; empty when absent. */
  getAll(name: string): string[] {
    return [...(this.#fields.get(name.toLowerCase())?.values ?? [])];
  }

  /** True when `name` is present. */
  has(name: string): boolean {
    return this.#fields.has(name.toLowerCase());
  }

  /** The number of distinct names. */
  get size(): number {
    return this.#fields.size;
  }

  /** `[lower-case name, value]` for each value, repeated headers one by one. */
  *[Symbol.iterator](): IterableIterator<[string, string]> {
    for (const [key, { values }] of this.#fields) for (const value of values) yield [key, value];
  }

  /** Same as iterating. */
  entries(): IterableIterator<[string, string]> {
    return this[Symbol.iterator]();
  }

  /** Each distinct lower-case name. */
  keys(): IterableIterator<string> {
    return this.#fields.keys();
  }

  /** `[name as first sent, value]` for each value: how the headers go on the wire. @internal */
  *lines(): IterableIterator<[string, string]> {
    for (const { name, values } of this.#fields.values()) for (const value of values) yield [name, value];
  }

  /** `Name: value\r\n` for each value, as the headers go on the wire; a line break in a name or value throws `TypeError`. @internal */
  toWire(): string {
    let text = '';
    for (const { name, values } of this.#fields.values()) {
      for (const value of values) {
        const line = `${name}: ${value}`;
        if (line.includes('\r') || line.includes('\n')) throw new TypeError(`header ${JSON.stringify(name)} holds a line break`);
        text += `${line}\r\n`;
      }
    }
    return text;
  }

  /** A plain object, repeated headers as arrays (for logging and JSON). */
  toJSON(): Record<string, string | string[]> {
    return Object.fromEntries([...this.#fields].map(([key, { values }]) => [key, values.length === 1 ? values[0] : [...values]]));
  }
}
