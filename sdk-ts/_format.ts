/**
 * Formatting of log arguments the way `console.log` formats them, into one
 * string for a `log` notification.
 *
 * @module
 */

const INSPECT_OPTIONS = { colors: false, depth: 4, iterableLimit: 100, strAbbreviateSize: 10_000 };

/** Renders one value the way `console.log` shows it (strings as they are). */
export function inspect(value: unknown, options: Deno.InspectOptions = {}): string {
  if (typeof value === "string") return value;
  try {
    return Deno.inspect(value, { ...INSPECT_OPTIONS, ...options });
  } catch (error) {
    return `[value that cannot be inspected: ${
      error instanceof Error ? error.message : String(error)
    }]`;
  }
}

function formatOne(directive: string, value: unknown): string {
  switch (directive) {
    case "s":
      return typeof value === "string" ? value : inspect(value, { depth: 1 });
    case "d":
    case "i": {
      if (typeof value === "bigint") return `${value}n`;
      if (typeof value === "symbol") return "NaN";
      const number = Number(value);
      return String(directive === "i" ? Math.trunc(number) : number);
    }
    case "f":
      return typeof value === "symbol" ? "NaN" : String(Number(value));
    case "j":
      try {
        return JSON.stringify(value) ?? "undefined";
      } catch {
        return "[Circular]";
      }
    case "o":
    case "O":
      return Deno.inspect(value, { ...INSPECT_OPTIONS, colors: false });
    default:
      return "";
  }
}

/**
 * Joins log arguments into one message: a leading format string takes
 * `%s %d %i %f %j %o %O %c %%` directives; remaining values are inspected and
 * appended with spaces.
 */
export function formatArgs(args: readonly unknown[]): string {
  if (args.length === 0) return "";
  const first = args[0];
  let rest = args.slice(1);
  let head: string;
  if (typeof first === "string" && rest.length > 0 && first.includes("%")) {
    let index = 0;
    head = first.replace(/%([sdifjoOc%])/g, (match, directive: string) => {
      if (directive === "%") return "%";
      if (index >= rest.length) return match;
      const value = rest[index++];
      return directive === "c" ? "" : formatOne(directive, value);
    });
    rest = rest.slice(index);
  } else {
    head = inspect(first);
  }
  return rest.length === 0 ? head : [head, ...rest.map((value) => inspect(value))].join(" ");
}

/**
 * Cuts `text` so that its UTF-8 encoding is at most `maxBytes` bytes,
 * appending a note of how much was cut.
 */
export function truncateUtf8(text: string, maxBytes: number): string {
  // A UTF-16 code unit encodes to at most 3 bytes: short strings need no encoding.
  if (text.length * 3 <= maxBytes) return text;
  const bytes = new TextEncoder().encode(text);
  if (bytes.length <= maxBytes) return text;
  // The note is ASCII and under 64 bytes.
  let end = Math.max(0, maxBytes - 64);
  // Do not split a multi-byte character: back up to a leading byte.
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--;
  const note = ` … [truncated ${bytes.length - end} of ${bytes.length} bytes]`;
  return new TextDecoder().decode(bytes.subarray(0, end)) + note;
}
