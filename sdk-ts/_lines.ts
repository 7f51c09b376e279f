/**
 * Splits a byte stream into `\n`-terminated UTF-8 lines. Over-long lines and
 * invalid UTF-8 are reported as values, so the caller can answer them with a
 * JSON-RPC error and carry on.
 *
 * @module
 */

/** One item read from the stream. */
export type LineItem =
  | { readonly type: "line"; readonly text: string }
  | { readonly type: "too-long"; readonly bytes: number }
  | { readonly type: "bad-utf8" };

const NEWLINE = 0x0a;

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1 && parts[0] !== undefined) return parts[0];
  const joined = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    joined.set(part, offset);
    offset += part.length;
  }
  return joined;
}

/**
 * Yields the lines of `stream` (without their `\n`), until the stream ends.
 * A line longer than `maxLineBytes` is skipped up to its `\n` and reported
 * once as `too-long` with its size. A final line without `\n` is yielded too.
 */
export async function* readLines(
  stream: ReadableStream<Uint8Array>,
  maxLineBytes: number,
): AsyncGenerator<LineItem, void, undefined> {
  const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });
  const decode = (bytes: Uint8Array): LineItem => {
    try {
      return { type: "line", text: decoder.decode(bytes) };
    } catch {
      return { type: "bad-utf8" };
    }
  };
  let parts: Uint8Array[] = [];
  let buffered = 0;
  // Bytes of the current over-long line seen so far, or -1 when not skipping.
  let skipped = -1;
  const reader = stream.getReader();
  try {
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      let chunk = value;
      while (chunk.length > 0) {
        const newline = chunk.indexOf(NEWLINE);
        if (newline === -1) {
          if (skipped >= 0) skipped += chunk.length;
          else if (buffered + chunk.length > maxLineBytes) {
            skipped = buffered + chunk.length;
            parts = [];
            buffered = 0;
          } else {
            parts.push(chunk);
            buffered += chunk.length;
          }
          break;
        }
        const head = chunk.subarray(0, newline);
        chunk = chunk.subarray(newline + 1);
        if (skipped >= 0) {
          yield { type: "too-long", bytes: skipped + head.length };
          skipped = -1;
        } else if (buffered + head.length > maxLineBytes) {
          yield { type: "too-long", bytes: buffered + head.length };
          parts = [];
          buffered = 0;
        } else {
          parts.push(head);
          const line = concat(parts, buffered + head.length);
          parts = [];
          buffered = 0;
          yield decode(line);
        }
      }
    }
    if (skipped >= 0) yield { type: "too-long", bytes: skipped };
    else if (buffered > 0) yield decode(concat(parts, buffered));
  } finally {
    reader.releaseLock();
  }
}
