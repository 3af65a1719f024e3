// What the page reads out of a wrapped document, as the core (ledger/documents) does it.
// Pure functions with no DOM and no page state, so Node can run them beside the Python core:
// tests/interop/test_page_documents.py holds them to the core's answers.

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
