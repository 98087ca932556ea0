/**
 * Parsers for environment settings: each turns the raw text of one variable into a typed value, or throws
 * Expected saying what it should have been. Plain functions rather than a schema library, because every
 * process (the cluster primary too) parses the configuration at start, and a library costs each of them
 * 7 MiB or more of memory for this one job (BENCHMARKS.md); request validation, in the workers, uses zod.
 */

/** Thrown by a parser; the message completes "expected ...". */
export class Expected extends Error {}

/** One setting: how to read it when it is set (a non-blank value) and when it is not. */
export interface Setting<T> {
  read(raw: string | undefined): T;
}

export interface Field<T> {
  parse(raw: string): T;
  /** Unset is undefined. */
  optional(): Setting<T | undefined>;
  /** Unset is value (not itself checked). */
  default(value: T): Setting<T>;
}

function field<T>(parse: (raw: string) => T): Field<T> {
  return {
    parse,
    optional: () => ({ read: (raw) => (raw === undefined ? undefined : parse(raw)) }),
    default: (value) => ({ read: (raw) => (raw === undefined ? value : parse(raw)) }),
  };
}

/** A number within [min, max]; JavaScript's Number() reading, as environment values are written by people. */
export const number = (min: number, max: number) =>
  field((raw) => {
    const n = Number(raw);
    if (!Number.isFinite(n)) throw new Expected('a number');
    if (n < min) throw new Expected(`a number >= ${min}`);
    if (n > max) throw new Expected(`a number <= ${max}`);
    return n;
  });

export const integer = (min: number, max: number) =>
  field((raw) => {
    const n = number(min, max).parse(raw);
    if (!Number.isInteger(n)) throw new Expected('a whole number');
    return n;
  });

const TRUE = ['true', '1', 'yes', 'on'];
const FALSE = ['false', '0', 'no', 'off'];
export const boolean = field((raw) => {
  const v = raw.trim().toLowerCase();
  if (TRUE.includes(v)) return true;
  if (FALSE.includes(v)) return false;
  throw new Expected(`one of ${TRUE.flatMap((t, i) => [t, FALSE[i]]).join(', ')}`);
});

export const oneOf = <const T extends string>(values: readonly T[], normalise: (raw: string) => string = (v) => v) =>
  field((raw): T => {
    const v = normalise(raw);
    if ((values as readonly string[]).includes(v)) return v as T;
    throw new Expected(`one of ${values.join(', ')}`);
  });

export const text = (opts: { min?: number; max?: number; trim?: boolean } = {}) =>
  field((raw) => {
    const v = opts.trim ? raw.trim() : raw;
    if (opts.min !== undefined && v.length < opts.min) throw new Expected(`at least ${opts.min} characters`);
    if (opts.max !== undefined && v.length > opts.max) throw new Expected(`at most ${opts.max} characters`);
    return v;
  });

/** An absolute URL with one of the given schemes (without the colon). */
export const url = (schemes: readonly string[]) =>
  field((raw) => {
    let u: URL;
    try {
      u = new URL(raw.trim());
    } catch {
      throw new Expected('a URL with an allowed scheme');
    }
    if (!schemes.includes(u.protocol.slice(0, -1))) throw new Expected('a URL with an allowed scheme');
    return raw.trim();
  });

/** Comma-separated host:port pairs, at least one. */
export const hostPorts = field((raw) => {
  const items = raw
    .split(',')
    .map((n) => n.trim())
    .filter(Boolean);
  if (items.length === 0 || !items.every((n) => /^[^:\s]+:\d{1,5}$/.test(n))) throw new Expected('host:port');
  return items.map((n) => {
    const i = n.lastIndexOf(':');
    return { host: n.slice(0, i), port: Number(n.slice(i + 1)) };
  });
});

/** Each setting's value, read from env; throws SettingError naming the first variable that is wrong. */
export function readSettings<S extends Record<string, Setting<unknown>>>(settings: S, env: Record<string, string | undefined>): { [K in keyof S]: ReturnType<S[K]['read']> } {
  const out: Record<string, unknown> = {};
  for (const [name, setting] of Object.entries(settings)) {
    const raw = env[name];
    // An empty value means "not set", as it did for the old service's pydantic settings.
    try {
      out[name] = setting.read(raw === undefined || raw.trim() === '' ? undefined : raw);
    } catch (err) {
      if (err instanceof Expected) throw new SettingError(name, raw!, err.message);
      throw err;
    }
  }
  return out as { [K in keyof S]: ReturnType<S[K]['read']> };
}

export class SettingError extends Error {
  constructor(
    readonly setting: string,
    readonly value: string,
    readonly expected: string,
  ) {
    super(`${setting}: expected ${expected}`);
  }
}
