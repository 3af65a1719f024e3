// The verification page's document functions (web/src/document.js) run from Node, no browser.
// One request a line on stdin, {"call": "unsalt" | "fromBase64Url" | "typeName" | "targetHash" | "hideFields" |
// "unrequestedPaths" | "embeddedDocument" | "credentialShapeProblem", "argument": ...}, one answer a line on
// stdout, {"result": ...} or {"error": "..."}; the bytes fromBase64Url gives come back as hex, and a number
// JSON cannot carry (NaN, Infinity) as {"\u0000number": "NaN"}.
// The process stays open until stdin closes, so a test asks many questions of one process.
import { createInterface } from "node:readline";
import { credentialShapeProblem, embeddedDocument, fromBase64Url, hideFields, targetHash, typeName, unrequestedPaths, unsalt } from "../../web/src/document.js";

const CALLS = {
  unsalt,
  fromBase64Url: (text) => Buffer.from(fromBase64Url(text)).toString("hex"),
  typeName,
  targetHash: ({ data, obfuscated }) => targetHash(data, obfuscated),
  hideFields: ({ document, paths }) => hideFields(document, paths),
  unrequestedPaths: ({ subject, requested }) => unrequestedPaths(subject, requested),
  credentialShapeProblem: ({ document, known }) => credentialShapeProblem(document, known),
  embeddedDocument: (base64) => embeddedDocument(Uint8Array.from(Buffer.from(base64, "base64"))),
};

const nonFinite = (_key, value) =>
  typeof value === "number" && !Number.isFinite(value) ? { "\u0000number": String(value) } : value;

for await (const line of createInterface({ input: process.stdin, crlfDelay: Infinity })) {
  let answer;
  try {
    const { call, argument } = JSON.parse(line);
    if (!Object.hasOwn(CALLS, call)) throw new Error(`no function ${call}`);
    answer = { result: await CALLS[call](argument) };
  } catch (error) {
    answer = { error: String(error) };
  }
  process.stdout.write(JSON.stringify(answer, nonFinite) + "\n");
}
