// A second auditor's tool, written from the README alone: Node's built-ins only (fetch, crypto).
// Usage: node events_root.js <rpc url> <registry address> <from block> <to block>
// Reads the registry's logs with eth_getLogs itself and prints {"event_count", "events_root"}.
//
// leaf  = SHA-256(0x00 || block number (8) || log index (4) || transaction hash (32)
//                 || number of topics (1) || topics (32 each) || data), integers big-endian
// inner = SHA-256(0x01 || left || right)
// The tree is Certificate Transparency's (RFC 6962, section 2.1): n > 1 leaves split at the largest
// power of two below n, so a node without a partner is carried up as it is, never paired with a copy.
// No events at all: SHA-256("sijill/audit/empty").
"use strict";
const crypto = require("crypto");

const sha256 = (...parts) => crypto.createHash("sha256").update(Buffer.concat(parts)).digest();
const bytes = (hex) => Buffer.from(hex.replace(/^0x/, ""), "hex");
const integer = (hex, size) => {
  const value = BigInt(hex);
  const out = Buffer.alloc(size);
  for (let i = size - 1, v = value; i >= 0; i--, v >>= 8n) out[i] = Number(v & 0xffn);
  if (value >> BigInt(8 * size) !== 0n) throw new Error(`${hex} does not fit ${size} bytes`);
  return out;
};

function leaf(log) {
  return sha256(
    Buffer.from([0x00]),
    integer(log.blockNumber, 8),
    integer(log.logIndex, 4),
    bytes(log.transactionHash),
    Buffer.from([log.topics.length]),
    ...log.topics.map(bytes),
    bytes(log.data),
  );
}

function root(leaves) {
  if (leaves.length === 0) return sha256(Buffer.from("sijill/audit/empty"));
  if (leaves.length === 1) return leaves[0];
  let split = 1;
  while (split * 2 < leaves.length) split *= 2;
  return sha256(Buffer.from([0x01]), root(leaves.slice(0, split)), root(leaves.slice(split)));
}

async function getLogs(url, address, fromBlock, toBlock) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      jsonrpc: "2.0",
      id: 1,
      method: "eth_getLogs",
      params: [{ address, fromBlock: "0x" + fromBlock.toString(16), toBlock: "0x" + toBlock.toString(16) }],
    }),
  });
  const answer = await response.json();
  if (answer.error) throw new Error(`eth_getLogs: ${JSON.stringify(answer.error)}`);
  return answer.result;
}

async function main() {
  const [url, address, from, to] = process.argv.slice(2);
  const logs = await getLogs(url, address, Number(from), Number(to));
  // The chain's order: by block, then by position in the block.
  logs.sort((a, b) => Number(BigInt(a.blockNumber) - BigInt(b.blockNumber)) || Number(a.logIndex) - Number(b.logIndex));
  const leaves = logs.map(leaf);
  process.stdout.write(JSON.stringify({ event_count: leaves.length, events_root: root(leaves).toString("hex") }));
}

main().catch((error) => {
  process.stderr.write(String(error.stack || error) + "\n");
  process.exit(1);
});
