import fc from 'fast-check';
import type { Schema } from './document';

/** Strings that have broken services before: SQL, NoSQL, paths, templates, headers, markup. */
export const INJECTIONS = [
  "' OR '1'='1",
  "'; DROP TABLE messages; --",
  "1' AND pg_sleep(5)--",
  '" OR ""="',
  "admin'--",
  "' UNION SELECT password_hash FROM credentials --",
  '1; UPDATE profiles SET role = $$admin$$',
  '%',
  '_',
  '\\',
  '{"$gt": ""}',
  '{"$ne": null}',
  '$where',
  '../../../../etc/passwd',
  '..%2f..%2f..%2fetc%2fpasswd',
  '....//....//etc/passwd',
  '..\\..\\..\\windows\\win.ini',
  '/api/users',
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(1)>',
  '${7*7}',
  '{{constructor.constructor("return process")()}}',
  '__proto__',
  'constructor',
  'a\r\nX-User-Role: admin',
  'a\r\n\r\nGET /api/users HTTP/1.1',
  'a\u0000b',
  '\u0000',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e999',
  '00000000-0000-0000-0000-000000000000',
];

/** Unicode that trips normalisers, length checks, encoders and byte budgets. */
export const UNICODE = [
  '\u202Eevil\u202C',
  '\u2066bidi\u2069',
  '\u200B\u200C\u200D\u2060\uFEFF',
  '\uFEFFbom',
  '𝕳𝖊𝖑𝖑𝖔 𝔀𝓸𝓻𝓵𝓭',
  '👩‍👩‍👧‍👦'.repeat(20),
  '🏳️‍🌈',
  '\uD800',
  '\uDFFF',
  'a\uD83Db',
  'e\u0301\u0301\u0301\u0301',
  'Z͑ͫ̓ͪ̂ͫ̽͏̴̙̤̞͉͚̯̞̠͍A̴̵̜̰͔ͫ͗͢L̠ͨͧͩ͘G̴̻͈͍͔̹̑͗̎̅͛́Ǫ̵̹̻̝̳͂̌̌͘',
  'ﬁ',
  'İstanbul',
  'ß',
  'Ａｄｍｉｎ',
  'аdmin',
  '\u2028\u2029',
  '\u0007\u0008\u001B[31m',
  '\u00A0',
  '\u3000',
  '中文字符',
  'ا'.repeat(40),
  '𓀀'.repeat(30),
];

/** Any JSON value, weighted towards the shapes validators forget. */
export const anyJson = (): fc.Arbitrary<unknown> =>
  fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.constantFrom(0, -0, 1e308, -1, 2 ** 53 + 1, 0.1, 1e-300),
    fc.string({ maxLength: 20 }),
    fc.constantFrom<unknown>([], {}, [''], ['a', 'b'], { $gt: '' }, { $ne: null }, { toString: 'x' }, [[[]]], { length: 3 }),
    fc.array(fc.string({ maxLength: 5 }), { maxLength: 3 }),
    fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 3 }),
  );

/** A hostile string: from the lists, random unicode (lone surrogates too), or controls. */
export const hostileString = (): fc.Arbitrary<string> =>
  fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...INJECTIONS) },
    { weight: 3, arbitrary: fc.constantFrom(...UNICODE) },
    { weight: 2, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 40 }) },
    { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('\u0000', '\r', '\n', '\t', '\u007F', '\u0085', ' '), minLength: 1, maxLength: 8 }) },
    { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...INJECTIONS), fc.constantFrom(...UNICODE)).map(([a, b]) => `${a}${b}`) },
    { weight: 1, arbitrary: fc.constant('') },
  );

/**
 * Sizes past a string's declared limit: just over it, far over it, and over the gateway's body
 * limit (1 MiB) while under nginx's (2 MiB). Multi-byte characters make the byte and character
 * counts differ.
 */
export const oversizeString = (schema: Schema): fc.Arbitrary<string> => {
  const limit = schema.maxLength ?? 256;
  return fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom('x', 'é', '😀').map((unit) => unit.repeat(limit + 1)) },
    { weight: 2, arbitrary: fc.constantFrom('x', '€').map((unit) => unit.repeat(limit * 4 + 3)) },
    { weight: 1, arbitrary: fc.constant('y'.repeat(100_000)) },
    { weight: 1, arbitrary: fc.constantFrom(1_200_000, 1_900_000).map((length) => 'z'.repeat(length)) },
  );
};

/** Values of named fields the generator has real examples for (ids of fixtures, known channels). */
export type Hints = Record<string, fc.Arbitrary<unknown>>;

/** A value the schema accepts (as far as the schema says), or a realistic example from `hints`. */
export function validValue(schema: Schema, name: string | undefined, hints: Hints): fc.Arbitrary<unknown> {
  const hinted = name !== undefined ? hints[name] : undefined;
  const own = fromSchema(schema, hints);
  return hinted ? fc.oneof(hinted, own) : own;
}

function fromSchema(schema: Schema, hints: Hints): fc.Arbitrary<unknown> {
  if (schema.const !== undefined) return fc.constant(schema.const);
  if (schema.enum) return fc.constantFrom(...schema.enum);
  const alternatives = schema.oneOf ?? schema.anyOf;
  if (alternatives) return fc.oneof(...alternatives.map((alternative) => fromSchema(alternative, hints)));
  const type = Array.isArray(schema.type) ? schema.type.find((candidate) => candidate !== 'null') : schema.type;
  switch (type) {
    case 'integer':
      return fc.integer({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000 });
    case 'number':
      return fc.double({ min: schema.minimum ?? -1_000, max: schema.maximum ?? 1_000, noNaN: true });
    case 'boolean':
      return fc.boolean();
    case 'array':
      return fc.array(fromSchema(schema.items ?? {}, hints), { minLength: schema.minItems ?? 0, maxLength: Math.min(schema.maxItems ?? 5, 5) });
    case 'object':
      return validObject(schema, hints);
    default:
      return validString(schema);
  }
}

function validString(schema: Schema): fc.Arbitrary<string> {
  const minLength = schema.minLength ?? 0;
  const maxLength = Math.min(schema.maxLength ?? 64, Math.max(minLength, 64));
  const fits = (value: string) => value.length >= minLength && value.length <= (schema.maxLength ?? Infinity);
  if (schema.format === 'uuid') return fc.uuid();
  if (schema.format === 'email') return fc.emailAddress().filter(fits);
  if (schema.format === 'date-time') return fc.date({ noInvalidDate: true }).map((date) => date.toISOString());
  if (schema.pattern) return fc.stringMatching(new RegExp(schema.pattern), { size: 'small' }).filter(fits);
  return fc.string({ unit: 'grapheme', minLength, maxLength });
}

/** The required properties and some of the optional ones. */
export function validObject(schema: Schema, hints: Hints): fc.Arbitrary<Record<string, unknown>> {
  const properties = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  const record = Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, validValue(property, key, hints)]));
  return fc.record(record, { requiredKeys: [...required].filter((key) => key in properties) }) as fc.Arbitrary<Record<string, unknown>>;
}

/** A value of the wrong type for the schema, or a hostile or oversize string where a string goes. */
export function hostileValue(schema: Schema): fc.Arbitrary<unknown> {
  const type = Array.isArray(schema.type) ? schema.type[0] : schema.type;
  const wrongType = anyJson().filter((value) => !hasType(value, type));
  if (type === 'string' || type === undefined) {
    return fc.oneof({ weight: 3, arbitrary: hostileString() }, { weight: 2, arbitrary: wrongType }, { weight: 1, arbitrary: oversizeString(schema) });
  }
  if (type === 'integer' || type === 'number') {
    return fc.oneof(
      wrongType,
      fc.constantFrom<unknown>(-1, 0, 2 ** 31, 2 ** 63, 1.5, -0, Number.MAX_SAFE_INTEGER + 2, '1', '1e3', '0x10', ' 5', '5abc'),
      fc.integer().filter((value) => (schema.minimum !== undefined && value < schema.minimum) || (schema.maximum !== undefined && value > schema.maximum)),
    );
  }
  return wrongType;
}

function hasType(value: unknown, type: string | undefined): boolean {
  switch (type) {
    case undefined:
      return false;
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return Number.isInteger(value);
    case 'number':
      return typeof value === 'number';
    case 'boolean':
      return typeof value === 'boolean';
    case 'array':
      return Array.isArray(value);
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'null':
      return value === null;
    default:
      return false;
  }
}

/** Percent-encodes every byte that is not unreserved, from the UTF-8 (or raw) bytes of the value. */
export function percentEncode(value: string | Buffer): string {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  let out = '';
  for (const byte of bytes) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-._~]/.test(char) ? char : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}
