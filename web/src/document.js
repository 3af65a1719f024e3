// What the page reads out of a wrapped document, as the core (ledger/documents) does it.
// Pure functions with no DOM and no page state, so Node can run them beside the Python core:
// tests/interop/test_page_documents.py holds them to the core's answers.
import { keccak_256 } from "@noble/hashes/sha3.js";
import { bytesToHex, utf8ToBytes } from "@noble/hashes/utils.js";

// `<uuid4>:<type>:<value>`: the UUID in either case, the type in lower case, as the core reads it.
const SALTED = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89abAB][0-9a-fA-F]{3}-[0-9a-fA-F]{12}:(string|number|boolean|null):/;
// A salted number's text: what String(number) writes, with ASCII spaces around it; the same pattern as
// the core's `_NUMBER_TEXT`. Anything else stays salted text.
// ASCII digits and ASCII spaces only: on those, Number() and Python's float() agree.
const NUMBER_TEXT = /^[ \t\n\r\f\v]*([+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?|[+-]?Infinity|NaN)[ \t\n\r\f\v]*$/;

/**
 * A document's data with every salted leaf (OpenAttestation v2's `<uuid4>:<type>:<value>`) back to its
 * plain value; anything that is not salted comes back as it is. The core's counterpart is
 * `ledger.documents.salt.unsalt_data`.
 * @param {any} value a JSON value
 * @returns {any} the same shape, every salted leaf plain
 */
export function unsalt(value) {
  if (Array.isArray(value)) return value.map(unsalt);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, unsalt(item)]));
  }
  if (typeof value !== "string" || !SALTED.test(value)) return value;
  const rest = value.slice(37);
  const type = rest.slice(0, rest.indexOf(":"));
  const text = rest.slice(type.length + 1);
  if (type === "number") return NUMBER_TEXT.test(text) ? Number(text) : value;
  if (type === "boolean") return text === "true";
  if (type === "null") return null;
  return text;
}

/**
 * The bytes of unpadded base64url text, such as a share link's key (`k`), which the core writes with
 * `ledger.documents.share._b64url`.
 * @param {string} text
 * @returns {Uint8Array}
 */
export function fromBase64Url(text) {
  const padded = text.replace(/-/g, "+").replace(/_/g, "/") + "===".slice((text.length + 3) % 4);
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

/**
 * A document type's name as a credential names its type: `commercial-licence` -> `CommercialLicence`. The
 * core's counterpart is `ledger.vc.credential.type_name`.
 * @param {string} name
 * @returns {string}
 */
export function typeName(name) {
  return name
    .split(/[-_\s]+/)
    .filter(Boolean)
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1).toLowerCase())
    .join("");
}

/**
 * Whether a JSON object is a Verifiable Credential (the page then reads it with `credentialData`).
 * @param {any} doc
 * @returns {boolean}
 */
export function isCredential(doc) {
  const types = doc && Array.isArray(doc.type) ? doc.type : [doc && doc.type];
  return Boolean(doc && typeof doc === "object" && doc["@context"] && types.includes("VerifiableCredential"));
}

/**
 * What the page shows of a Sijill credential, in the shape it reads a wrapped document's data: its type
 * (among `names`, the service's document types), its claims, its validity and its anchor's registry.
 * @param {any} credential
 * @param {string[]} names
 * @returns {{documentType: string | null, subject: Record<string, unknown>, validUntil: string | null,
 *   sijill: {registry: string, chainId: string} | null}}
 */
export function credentialData(credential, names) {
  const kinds = Array.isArray(credential.type) ? credential.type : [];
  const documentType = names.find((name) => kinds.includes(typeName(name))) || null;
  const evidence = (Array.isArray(credential.evidence) ? credential.evidence : [credential.evidence]).find(
    (item) => item && Array.isArray(item.type) && item.type.includes("SijillAnchor"),
  );
  const chain = evidence && typeof evidence.chain === "string" ? evidence.chain.replace(/^eip155:/, "") : "";
  return {
    documentType,
    subject: credential.credentialSubject && typeof credential.credentialSubject === "object" ? credential.credentialSubject : {},
    validUntil: typeof credential.validUntil === "string" ? credential.validUntil : null,
    sijill: evidence ? { registry: String(evidence.registry), chainId: chain } : null,
  };
}

// --- OpenAttestation v2 digests and field hiding, as the core does them (ledger/documents) ----------

/**
 * A document's data flattened to dotted keys, as the core's `ledger.documents.digest.flatten` (flatley):
 * empty objects and arrays stay leaves.
 * @param {any} data
 * @returns {Record<string, any>}
 */
export function flatten(data) {
  const output = {};
  const step = (node, prefix) => {
    const items = Array.isArray(node) ? node.map((value, i) => [String(i), value]) : Object.entries(node);
    for (const [key, value] of items) {
      if (key.includes(".")) throw new Error(`field names may not contain '.': '${key}'`);
      const path = prefix ? `${prefix}.${key}` : key;
      if (value && typeof value === "object" && Object.keys(value).length > 0) step(value, path);
      else output[path] = value;
    }
  };
  if (data && typeof data === "object") step(data, "");
  return output;
}

/**
 * The keccak256 of one flattened field, `{path: value}` as JSON text: the core's `field_hash`.
 * @param {string} path
 * @param {any} value
 * @returns {string} 64 hex digits
 */
export function fieldHash(path, value) {
  return bytesToHex(keccak_256(utf8ToBytes(JSON.stringify({ [path]: value }))));
}

/**
 * A wrapped document's target hash from its visible data and its obfuscated hashes: the core's `target_hash`.
 * @param {any} data
 * @param {string[]} obfuscated
 * @returns {string}
 */
export function targetHash(data, obfuscated = []) {
  const hashes = [...obfuscated, ...Object.entries(flatten(data)).map(([path, value]) => fieldHash(path, value))];
  return bytesToHex(keccak_256(utf8ToBytes(JSON.stringify(hashes.sort()))));
}

const PROTECTED = ["issuers", "sijill", "documentType", "validUntil"];

/**
 * The dotted paths a document's type says no holder may hide (`sijill.documentType.neverHidden`).
 * @param {any} data a wrapped document's (salted) data
 * @returns {string[]}
 */
export function neverHidden(data) {
  const sijill = data && typeof data.sijill === "object" && data.sijill ? unsalt(data.sijill) : {};
  const binding = sijill.documentType && typeof sijill.documentType === "object" ? sijill.documentType : {};
  return Array.isArray(binding.neverHidden) ? binding.neverHidden.filter((path) => typeof path === "string") : [];
}

/**
 * The document with the fields at dotted `paths` hidden, their hashes in `privacy.obfuscatedData`: the core's
 * `ledger.documents.wrap.obfuscate`, with the same refusals (an absent field, a path into a list, a field that
 * says who issued the document). It still verifies.
 * @param {any} document a wrapped document
 * @param {string[]} paths
 * @returns {any}
 */
export function hideFields(document, paths) {
  const data = structuredClone(document.data);
  const hidden = [];
  const kept = neverHidden(document.data);
  for (const path of paths) {
    const parts = path.split(".");
    if (!path || parts.some((part) => part === "")) throw new Error(`'${path}' is not a dotted field path`);
    if (PROTECTED.includes(parts[0])) throw new Error(`'${parts[0]}' tells a verifier who issued the document`);
    const held = kept.find((field) => path === field || field.startsWith(`${path}.`) || path.startsWith(`${field}.`));
    if (held) throw new Error(`'${held}' is a field its document type says no holder may hide`);
    const chain = [];
    let node = data;
    parts.forEach((part, depth) => {
      if (Array.isArray(node)) throw new Error(`'${path}' points inside the list '${parts.slice(0, depth).join(".")}'`);
      if (!node || typeof node !== "object" || !Object.hasOwn(node, part)) {
        throw new Error(`the document has no visible field '${parts.slice(0, depth + 1).join(".")}'`);
      }
      chain.push([node, part]);
      node = node[part];
    });
    const [parent, key] = chain[chain.length - 1];
    const value = parent[key];
    delete parent[key];
    const leaves = value && typeof value === "object" && Object.keys(value).length > 0 ? flatten({ [key]: value }) : { [key]: value };
    const prefix = parts.slice(0, -1).join(".");
    for (const [leaf, leafValue] of Object.entries(leaves)) hidden.push(fieldHash(prefix ? `${prefix}.${leaf}` : leaf, leafValue));
    for (const [container, name] of chain.slice(0, -1).reverse()) {
      if (Object.keys(container[name]).length > 0) break;
      delete container[name];
    }
  }
  const copy = structuredClone(document);
  copy.data = data;
  copy.privacy = { ...(copy.privacy || {}), obfuscatedData: [...((document.privacy || {}).obfuscatedData || []), ...hidden] };
  return copy;
}

/**
 * The dotted paths of a wrapped document's subject to hide so that only `requested` claims remain: each
 * requested path (DCQL, under `credentialSubject`) keeps its field whole; a path into a list keeps the whole
 * list (OpenAttestation hides a list only whole).
 * @param {any} subject the document's unsalted or salted `subject`
 * @param {Array<Array<string|number|null>>} requested claim paths, without the leading "credentialSubject"
 * @returns {string[]} paths such as `subject.owner.nationalId`
 */
export function unrequestedPaths(subject, requested) {
  const hide = [];
  const walk = (node, at) => {
    for (const key of Object.keys(node)) {
      const here = [...at, key];
      const matches = (path) => here.every((part, i) => path[i] === part);
      const covering = requested.some((path) => path.length <= here.length && path.every((part, i) => here[i] === part));
      const deeper = requested.filter((path) => path.length > here.length && matches(path));
      const value = node[key];
      if (covering) continue;
      if (deeper.length && value && typeof value === "object" && !Array.isArray(value)) walk(value, here);
      else if (!deeper.length) hide.push(["subject", ...here].join("."));
    }
  };
  if (subject && typeof subject === "object") walk(subject, []);
  return hide;
}

/**
 * The wrapped document a Sijill PDF carries as its attachment (an `/EmbeddedFile` stream, stored as it is or
 * deflated), read in the browser: the core's counterpart is `ledger.render.pdf.extract_document`.
 * @param {Uint8Array} bytes the PDF
 * @returns {Promise<any>} the parsed document
 * @throws {Error} when the file carries no readable attachment
 */
export async function embeddedDocument(bytes) {
  const text = new TextDecoder("latin1").decode(bytes);
  const marker = text.indexOf("/Type /EmbeddedFile");
  if (!text.startsWith("%PDF-") || marker < 0) throw new Error("the PDF carries no attached document");
  const open = text.lastIndexOf(" obj", marker); // the attachment's object: its dictionary holds /Length
  const dictionary = text.slice(open, text.indexOf("stream", marker));
  const length = Number.parseInt((/\/Length (\d+)/.exec(dictionary) || [])[1], 10);
  let start = text.indexOf("stream", marker) + "stream".length;
  if (text[start] === "\r") start += 1;
  if (text[start] === "\n") start += 1;
  if (!Number.isFinite(length) || start + length > bytes.length) throw new Error("the attachment is damaged");
  let content = bytes.slice(start, start + length);
  if (/\/Filter \/FlateDecode/.test(dictionary)) {
    const inflated = new Blob([content]).stream().pipeThrough(new DecompressionStream("deflate"));
    content = new Uint8Array(await new Response(inflated).arrayBuffer());
  }
  return JSON.parse(new TextDecoder().decode(content));
}

/**
 * Every value a DCQL claim path points at in presented claims (a key; null or an index for every element of a
 * list, since selective disclosure shifts positions): the core's `ledger.openid4vp.dcql.select`.
 * @param {any} claims
 * @param {Array<string|number|null>} path
 * @returns {any[]}
 */
export function selectPath(claims, path) {
  let current = [claims];
  for (const element of path) {
    const following = [];
    for (const node of current) {
      if ((element === null || typeof element === "number") && Array.isArray(node)) following.push(...node);
      else if (typeof element === "string" && node && typeof node === "object" && !Array.isArray(node) && Object.hasOwn(node, element)) {
        following.push(node[element]);
      }
    }
    current = following;
  }
  return current;
}

// --- a credential's shape, as the core holds it (ledger/vc/rdf.py check_shape) --------------------------

const IRI = /^[A-Za-z][A-Za-z0-9+.-]*:[^\s<>"{}|^`\\]*$/;
const TERM = /^[^\s<>"{}|^`\\]+$/;
const UNSAFE_TEXT = /[\\\x00-\x1f\x7f-\x9f\u2028\u2029]/;
const SKOLEM = "urn:bnid:";
const MAX_DEPTH = 24;

/**
 * Why a credential is not of the shape whose every part its proof signs, or null when it is: its `@context` a
 * list of the contexts Sijill knows (no inline context to rename a claim), no other JSON-LD keyword, no null,
 * ids that are absolute IRIs, types and keys without spaces, strings without backslashes or control
 * characters, integers JavaScript reads exactly. The core's `ledger.vc.rdf.check_shape`; the proof alone
 * would not notice a claim renamed by an inline context.
 * @param {any} document
 * @param {string[]} known the context URLs the page carries
 * @returns {string | null}
 */
export function credentialShapeProblem(document, known) {
  if (!document || typeof document !== "object" || Array.isArray(document)) return "the credential is not a JSON object";
  const contexts = document["@context"];
  if (!Array.isArray(contexts) || !contexts.length || !contexts.every((url) => typeof url === "string")) {
    return "the credential's @context must be a list of context URLs";
  }
  const unknown = contexts.find((url) => !known.includes(url));
  if (unknown) return `the JSON-LD context ${unknown} is not one Sijill knows; contexts are never fetched`;
  const rest = Object.fromEntries(Object.entries(document).filter(([key]) => key !== "@context"));
  return valueProblem(rest, "", 0);
}

function valueProblem(value, where, depth) {
  if (depth > MAX_DEPTH) return `the credential nests deeper than ${MAX_DEPTH} levels at ${where || "/"}`;
  if (value === null) return `${where || "/"} is null; leave the property out instead`;
  if (typeof value === "boolean") return null;
  if (typeof value === "number") {
    return Number.isInteger(value) && Math.abs(value) > Number.MAX_SAFE_INTEGER
      ? `${where} is an integer larger than ${Number.MAX_SAFE_INTEGER.toLocaleString("en-US")}; write it as a string`
      : null;
  }
  if (typeof value === "string") {
    return UNSAFE_TEXT.test(value) || value.includes(SKOLEM)
      ? `${where} holds a backslash, a control character or ${SKOLEM}; these are not signed alike`
      : null;
  }
  if (Array.isArray(value)) {
    for (const [index, item] of value.entries()) {
      const problem = valueProblem(item, `${where}/${index}`, depth + 1);
      if (problem) return problem;
    }
    return null;
  }
  if (typeof value !== "object") return `${where} is not a JSON value`;
  for (const [key, item] of Object.entries(value)) {
    const path = `${where}/${key}`;
    if (key.startsWith("@") || !TERM.test(key)) return `the property '${key}' at ${where || "/"} is a JSON-LD keyword or has a space`;
    if (key === "id" && !(typeof item === "string" && IRI.test(item) && !item.startsWith("_:"))) {
      return `${path} must be an absolute IRI (a blank node needs no id)`;
    }
    if (key === "type") {
      const types = Array.isArray(item) ? item : [item];
      if (!types.length || !types.every((kind) => typeof kind === "string" && TERM.test(kind))) {
        return `${path} must be one or more names without spaces`;
      }
    }
    const problem = valueProblem(item, path, depth + 1);
    if (problem) return problem;
  }
  return null;
}
