import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { parseLine } from "./_jsonrpc.ts";

Deno.test("classifies requests, notifications and both kinds of response", () => {
  deepStrictEqual(parseLine('{"jsonrpc":"2.0","id":1,"method":"run","params":{"a":1}}'), {
    type: "request",
    id: 1,
    method: "run",
    params: { a: 1 },
  });
  deepStrictEqual(
    parseLine('{"jsonrpc":"2.0","method":"$/cancel","params":{"invocationId":"i"}}'),
    {
      type: "notification",
      method: "$/cancel",
      params: { invocationId: "i" },
    },
  );
  deepStrictEqual(parseLine('{"jsonrpc":"2.0","id":"a","result":null}'), {
    type: "result",
    id: "a",
    result: null,
  });
  deepStrictEqual(
    parseLine('{"jsonrpc":"2.0","id":2,"error":{"code":-32001,"message":"no","data":{"x":1}}}'),
    {
      type: "error",
      id: 2,
      error: { code: -32001, message: "no", data: { x: 1 } },
    },
  );
});

Deno.test("reports malformed requests as values carrying the id to answer", () => {
  const cases: [string, number, unknown, boolean][] = [
    ["{not json", -32700, null, false],
    ["[]", -32600, null, false],
    ['"text"', -32600, null, false],
    ['{"jsonrpc":"2.0","id":{},"method":"x"}', -32600, null, false],
    ['{"jsonrpc":"1.0","id":4,"method":"x"}', -32600, 4, false],
    ['{"jsonrpc":"2.0","id":5,"method":""}', -32600, 5, false],
    ['{"jsonrpc":"2.0","id":6,"method":"x","params":"p"}', -32600, 6, false],
    ['{"jsonrpc":"2.0"}', -32600, null, false],
  ];
  for (const [line, code, id, response] of cases) {
    const message = parseLine(line);
    strictEqual(message.type, "invalid", line);
    if (message.type !== "invalid") continue;
    strictEqual(message.error.code, code, line);
    strictEqual(message.id, id, line);
    strictEqual(message.response, response, line);
  }
});

Deno.test("marks malformed responses so that nobody answers them", () => {
  for (
    const line of [
      '{"jsonrpc":"2.0","id":7,"result":1,"error":{"code":1,"message":"m"}}',
      '{"jsonrpc":"2.0","id":7,"error":{"message":"no code"}}',
      '{"jsonrpc":"2.0","id":7,"error":{"code":1.5,"message":"m"}}',
      '{"id":7,"result":1}',
    ]
  ) {
    const message = parseLine(line);
    strictEqual(message.type === "invalid" && message.response && message.id === 7, true, line);
  }
});
