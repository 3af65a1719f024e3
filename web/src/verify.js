// The public verification page: from a QR link, an uploaded file or the camera.
// Everything it needs is bundled; it talks only to the service that served it.
import { Scanner } from "./camera.js";
import { credentialData, embeddedDocument, isCredential, targetHash, unsalt } from "./document.js";
import { checkProof, deriveCredential, withoutClaims } from "./credentials.js";
import { LOCALES, STRINGS } from "./i18n.js";
import { display as displayIn, fetchDocumentTypes, humanize } from "./labels.js";
import { openShare, ShareError, shareParams } from "./share.js";

const $ = (id) => document.getElementById(id);

function storedLanguage() {
  try {
    const stored = localStorage.getItem("sijill.lang");
    if (stored === "en" || stored === "ar") return stored;
  } catch {
    // Storage may be blocked; the browser's language decides then.
  }
  return (navigator.language || "en").startsWith("ar") ? "ar" : "en";
}

function storeLanguage(lang) {
  try {
    localStorage.setItem("sijill.lang", lang);
  } catch {
    // Not remembered when storage is blocked: harmless.
  }
}

// --- what the service answers --------------------------------------------------------

/**
 * The answer of `POST /v1/verify/anchor` for a wrapped document (its integrity check added by the page) or
 * of `POST /v1/verify/credential-anchor` for a credential (its proof check added by the page): a
 * `VerificationResult` (ledger/verification.py).
 * @typedef {object} Verification
 * @property {VerificationStatus} status
 * @property {boolean} valid true only for VALID
 * @property {string} summary one English sentence (the Arabic page shows its own words per status)
 * @property {string | null} target_hash
 * @property {string | null} merkle_root
 * @property {Issuer | null} issuer null until the registry was found to hold the document's root
 * @property {Anchor | null} anchor null until the registry was found to hold the document's root
 * @property {string} checked_at ISO 8601
 * @property {Check[]} checks in the order they ran
 */

/**
 * @typedef {"VALID" | "REVOKED" | "SUSPENDED" | "EXPIRED" | "TAMPERED" | "NOT_ISSUED" | "UNKNOWN_ISSUER"} VerificationStatus
 */

/**
 * The agency that anchored the document, as the registry names it.
 * @typedef {object} Issuer
 * @property {string | null} agency_id
 * @property {string | null} name the registry's name for the agency: the only one the page trusts
 * @property {unknown} claimed_name what the document itself claims (`issuers[0].name`)
 */

/**
 * The batch's anchor on the chain.
 * @typedef {object} Anchor
 * @property {number} block_number
 * @property {string | null} transaction
 * @property {string} anchored_at ISO 8601
 * @property {string | null} expires_at ISO 8601; null when the anchor sets no expiry
 * @property {string | null} key the issuer key that anchored it
 * @property {number} document_count
 * @property {number} read_at_block
 */

/**
 * One check: integrity, merkle_proof, network, anchored, issuer, issuer_key, not_revoked,
 * not_suspended or not_expired. The page reads `evidence.valid_at_anchor` of issuer_key.
 * @typedef {object} Check
 * @property {string} name
 * @property {"passed" | "failed" | "skipped"} outcome
 * @property {string} message one English sentence
 * @property {Record<string, unknown>} evidence
 */

/**
 * A wrapped document (OpenAttestation v2), as far as the page reads it.
 * @typedef {object} WrappedDocument
 * @property {Record<string, unknown>} data salted: read through `unsalt`
 * @property {{ obfuscatedData?: string[] }} [privacy] the hashes of the fields the holder hid
 */

/**
 * The answer the page shows once a check ends: a verdict on a document, or a message instead.
 * @typedef {object} Answer
 * @property {Verification | null} [result]
 * @property {WrappedDocument | null} [document]
 * @property {(() => string) | null} [message] the message in the current language
 */

/** The page's state: `result` and `document` are the last check's answer. */
const state = {
  lang: storedLanguage(),
  request: 0,
  checking: false,
  /** @type {Verification | null} */
  result: null,
  /** @type {WrappedDocument | null} */
  document: null,
  /** @type {(() => string) | null} */
  message: null,
  types: null,
};

const t = () => STRINGS[state.lang];

/** The camera, once the page has asked for it. */
let camera = null;
const scanner = () => camera || (camera = new Scanner($("camera"), $("frame")));

// --- the words ---------------------------------------------------------------------

function applyLanguage() {
  const words = t();
  document.documentElement.lang = state.lang;
  document.documentElement.dir = state.lang === "ar" ? "rtl" : "ltr";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = words[node.dataset.i18n];
    if (typeof value === "string") node.textContent = value;
  }
  document.title = words.pageTitle;
  $("camera").setAttribute("aria-label", words.cameraLabel);
  const button = $("language");
  button.textContent = words.languageButton;
  button.setAttribute("aria-label", words.languageLabel);
  button.lang = state.lang === "ar" ? "en" : "ar";
  $("scan").textContent = camera && camera.running ? words.stopScan : words.scan;
  render();
}

function formatDate(iso) {
  if (!iso) return t().never;
  return new Intl.DateTimeFormat(LOCALES[state.lang], { dateStyle: "long", timeZone: "UTC" }).format(new Date(iso));
}

function formatNumber(value) {
  return new Intl.NumberFormat(LOCALES[state.lang]).format(value);
}

// --- documents ---------------------------------------------------------------------

const display = (value) => displayIn(value, state.lang);

// --- rendering ---------------------------------------------------------------------

function render() {
  const words = t();
  const message = $("message");
  message.hidden = !state.message;
  message.textContent = state.message ? state.message() : "";

  const verdict = $("verdict");
  const result = state.result;
  const status = result ? result.status : state.checking ? "CHECKING" : null;
  verdict.hidden = !status;
  if (status) {
    const [label, icon] = words.status[status];
    verdict.dataset.status = status;
    verdict.querySelector(".icon").textContent = icon;
    verdict.querySelector(".status-label").textContent = label;
    const summary = result ? (state.lang === "ar" ? words.summaries[status] : result.summary) : "";
    verdict.querySelector(".status-summary").textContent = summary;
  }
  renderDocument();
}

function renderDocument() {
  const words = t();
  const section = $("document");
  if (!state.result || !state.document) {
    section.hidden = true;
    return;
  }
  section.hidden = false;
  const credential = isCredential(state.document);
  const data = credential
    ? credentialData(state.document, Object.keys(state.types || {}))
    : unsalt(state.document.data || {});
  const type = (state.types || {})[data.documentType];
  $("document-title").textContent = type ? (state.lang === "ar" ? type.titleAr : type.title) : data.documentType || "";
  // The issuer's name comes from the registry, never from the document's own claim;
  // the Arabic name is shown only when the document's English name matches the registry's.
  /** @type {Partial<Issuer>} */
  const issuer = state.result.issuer || {};
  const claimed = (data.sijill && data.sijill.agencyName) || {};
  const arabic = claimed.en === issuer.name ? claimed.ar : null;
  $("issuer").textContent = (state.lang === "ar" && arabic) || issuer.name || "—";
  /** @type {Partial<Anchor>} */
  const anchor = state.result.anchor || {};
  $("issued").textContent = anchor.anchored_at ? formatDate(anchor.anchored_at) : "—";
  $("expires").textContent = formatDate(anchor.expires_at || data.validUntil);

  const fields = $("fields");
  fields.replaceChildren();
  const subject = data.subject || {};
  const proof = (state.result.checks || []).find((check) => check.name === "proof");
  const derived = Boolean(credential && proof && proof.evidence.derived);
  // A holder's derived credential says nothing of how many claims it leaves out: the required ones
  // that are missing show as hidden, and a sentence says that some were.
  const hiddenCount = derived ? 1 : ((state.document.privacy || {}).obfuscatedData || []).length;
  // A required field that is missing can only have been hidden (issuing checks the schema);
  // an optional one may never have been there, so only the count speaks for it.
  const names = type ? Object.keys(type.labels) : Object.keys(subject);
  for (const name of [...new Set([...names, ...Object.keys(subject)])]) {
    const present = name in subject;
    if (!present && !(hiddenCount && type && type.required.includes(name))) continue;
    const label = type && type.labels[name] ? type.labels[name][state.lang === "ar" ? 1 : 0] : humanize(name);
    const dt = document.createElement("dt");
    dt.textContent = label;
    const dd = document.createElement("dd");
    if (present) {
      dd.textContent = display(subject[name]);
      dd.style.whiteSpace = "pre-line";
    } else {
      dd.textContent = words.hidden;
      dd.className = "hidden-field";
    }
    fields.append(dt, dd);
  }
  const count = $("hidden-count");
  count.hidden = !hiddenCount;
  count.textContent = derived ? words.undisclosed : hiddenCount ? words.hiddenCount(formatNumber(hiddenCount)) : "";

  renderDisclosure(credential && !derived && state.result.status !== "TAMPERED" ? subject : null, type);
  const keyCheck = (state.result.checks || []).find((check) => check.name === "issuer_key");
  $("ev-block").textContent = anchor.block_number ? formatNumber(anchor.block_number) : "—";
  $("ev-tx").textContent = anchor.transaction || "—";
  $("ev-key").textContent = anchor.key || "—";
  $("ev-key-valid").textContent = keyCheck ? (keyCheck.evidence.valid_at_anchor ? words.yes : words.no) : "—";
  $("ev-target").textContent = state.result.target_hash || "—";
  $("ev-registry").textContent = data.sijill ? `${data.sijill.registry} (chain ${data.sijill.chainId})` : "—";
  const checks = $("checks");
  checks.replaceChildren(
    ...(state.result.checks || []).map((check) => {
      const item = document.createElement("li");
      item.className = check.outcome;
      item.textContent = `${check.outcome === "passed" ? "✓" : check.outcome === "failed" ? "✕" : "–"} ${check.name}: ${check.message}`;
      item.lang = "en";
      return item;
    }),
  );
}

/**
 * The holder's choice of what to show, for a full credential (`subject` its claims); hidden otherwise.
 * @param {Record<string, unknown> | null} subject
 * @param {any} type the document type's labels, when the service knows the type
 */
function renderDisclosure(subject, type) {
  const section = $("disclose");
  section.hidden = !subject;
  const message = $("derive-message");
  const key = `${state.result.target_hash || ""} ${state.lang}`;
  if (!subject || section.dataset.for === key) {
    if (!subject) section.dataset.for = "";
    return;
  }
  section.dataset.for = key;
  message.hidden = true;
  $("derived-download").hidden = true;
  const choices = $("disclose-fields");
  choices.replaceChildren(
    ...Object.keys(subject).map((name) => {
      const label = document.createElement("label");
      const box = document.createElement("input");
      box.type = "checkbox";
      box.value = name;
      const text = type && type.labels[name] ? type.labels[name][state.lang === "ar" ? 1 : 0] : humanize(name);
      label.append(box, ` ${text}`);
      return label;
    }),
  );
}

async function deriveCopy() {
  const words = t();
  const message = $("derive-message");
  const link = $("derived-download");
  const chosen = [...$("disclose-fields").querySelectorAll("input:checked")].map((box) => box.value);
  link.hidden = true;
  message.hidden = false;
  if (!chosen.length) {
    message.textContent = words.chooseOne;
    return;
  }
  const disclose = chosen.map((name) => `/credentialSubject/${name.replace(/~/g, "~0").replace(/\//g, "~1")}`);
  try {
    const copy = await deriveCredential(state.document, disclose); // in the browser: nothing is sent
    if (link.href) URL.revokeObjectURL(link.href);
    link.href = URL.createObjectURL(new Blob([JSON.stringify(copy, null, 2)], { type: "application/json" }));
    link.download = `${(state.result.target_hash || "credential").slice(0, 16)}-shared.json`;
    link.hidden = false;
    message.textContent = words.copyReady(formatNumber(chosen.length));
  } catch {
    message.textContent = words.failed;
  }
}

/** @param {Answer} outcome */
function show({ result = null, document: doc = null, message = null }) {
  state.checking = false;
  state.result = result;
  state.document = doc;
  state.message = message;
  render();
}

// --- talking to the service --------------------------------------------------------

async function loadTypes() {
  if (state.types) return;
  state.types = Object.fromEntries((await fetchDocumentTypes()).map((type) => [type.name, type]));
}

async function explain(response, forLink = false) {
  if (response.status === 503) {
    let code = "";
    try {
      code = (await response.clone().json()).error.code;
    } catch {
      code = "";
    }
    return code === "ledger_nodes_disagree" ? () => t().nodesDisagree : () => t().chainDown;
  }
  if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "60", 10) || 60;
    return () => t().tooMany(seconds);
  }
  if (response.status >= 500) return () => t().failed;
  if (forLink) return () => t().badLink;
  let why = "";
  try {
    why = (await response.json()).error.message;
  } catch {
    why = response.statusText;
  }
  return () => t().invalidFile(why);
}

// Each check gets a number; an answer to an older check is dropped, so the page never
// shows the result of a document other than the last one asked about.
function checking() {
  state.request += 1;
  state.checking = true;
  state.result = null;
  state.message = null;
  render();
  return state.request;
}

/**
 * @param {number} ticket the number `checking` gave this check
 * @param {Answer} outcome
 */
function current(ticket, outcome) {
  if (ticket === state.request) show(outcome);
}

const HASH = /^[0-9a-f]{64}$/;

/**
 * What the page asks the service of a wrapped document, once it has checked in the browser that the content
 * hashes to the document's target hash: the hashes, the proof and the claims naming the issuer and validity,
 * never a field. Null when `doc` is not a wrapped document; `tampered` when the content does not hash right.
 * @param {any} doc
 * @returns {{ query: Record<string, unknown>, integrity: Check, tampered: boolean } | null}
 */
function anchorQuery(doc) {
  const signature = doc && doc.signature;
  if (!doc || typeof doc.data !== "object" || !doc.data || !signature || !HASH.test(signature.targetHash || "")) {
    return null;
  }
  if (!HASH.test(signature.merkleRoot || "") || !Array.isArray(signature.proof)) return null;
  const obfuscated = (doc.privacy && doc.privacy.obfuscatedData) || [];
  let computed = null;
  try {
    computed = targetHash(doc.data, obfuscated);
  } catch {
    computed = null;
  }
  const same = computed === signature.targetHash;
  const integrity = {
    name: "integrity",
    outcome: same ? "passed" : "failed",
    message: same
      ? "the content matches its target hash (checked in this browser)"
      : `the content was altered: expected target hash ${signature.targetHash}, calculated ${computed}`,
    evidence: { expected_target_hash: signature.targetHash, calculated_target_hash: computed },
  };
  const data = unsalt(doc.data);
  const sijill = data.sijill && typeof data.sijill === "object" ? data.sijill : {};
  const issuer = Array.isArray(data.issuers) && data.issuers[0] && typeof data.issuers[0] === "object" ? data.issuers[0] : {};
  const text = (value) => (typeof value === "string" ? value : null);
  const binding = sijill.documentType && typeof sijill.documentType === "object" ? sijill.documentType : null;
  const query = {
    target_hash: signature.targetHash,
    merkle_root: signature.merkleRoot,
    proof: signature.proof,
    chain_id: Number.isInteger(sijill.chainId) ? sijill.chainId : null,
    registry: text(sijill.registry),
    agency_id: text(sijill.agencyId),
    document_store: text(issuer.documentStore),
    issuer_name: text(issuer.name),
    valid_until: text(data.validUntil),
    document_type: text(data.documentType),
    sijill_version: Number.isInteger(sijill.version) ? sijill.version : null,
    type_binding: binding,
  };
  // What the document's type says no holder may hide must be shown (checked here: the fields stay here).
  const paths = binding && Array.isArray(binding.neverHidden) ? binding.neverHidden : [];
  const hidden = paths.filter((path) => typeof path !== "string" || !visible(data, path));
  const shown = paths.length
    ? {
        name: "never_hidden",
        outcome: hidden.length ? "failed" : "passed",
        message: hidden.length
          ? `the copy hides ${hidden.join(", ")}, which its type says no holder may hide`
          : "every field the type says no holder may hide is shown",
        evidence: { never_hidden: paths, hidden },
      }
    : null;
  return { query, integrity, shown, tampered: !same };
}

/** Whether `data` shows a value at the dotted `path`. */
function visible(data, path) {
  let node = data;
  for (const part of path.split(".")) {
    if (!node || typeof node !== "object" || Array.isArray(node) || !(part in node)) return false;
    node = node[part];
  }
  return true;
}

/**
 * A TAMPERED verdict the page reaches by itself: the content or the proof does not hold, so there is nothing
 * to ask the chain.
 * @returns {Verification}
 */
function tampered(checks, summary, targetHash, merkleRoot) {
  return {
    status: "TAMPERED",
    valid: false,
    summary,
    target_hash: targetHash,
    merkle_root: merkleRoot,
    issuer: null,
    anchor: null,
    checked_at: new Date().toISOString(),
    checks,
  };
}

/**
 * What the page checks itself, and what it then asks the service, of a credential: the proof here; the anchor,
 * key and status there, sent without the claims.
 */
async function credentialQuery(doc) {
  const proof = await checkProof(doc);
  const check = {
    name: "proof",
    outcome: proof.verified ? "passed" : "failed",
    message: proof.verified
      ? "signed by the issuer (checked in this browser)"
      : `the credential was altered: ${proof.reason}`,
    evidence: { derived: proof.derived },
  };
  const target = typeof doc.id === "string" ? doc.id.replace(/^urn:sijill:/, "") : null;
  if (!proof.verified) {
    return { checks: [check], verdict: tampered([check], "the credential was altered after it was issued", target, null) };
  }
  return { checks: [check], path: "/v1/verify/credential-anchor", body: { credential: withoutClaims(doc) } };
}

async function verifyDocument(doc, ticket = checking(), forLink = false) {
  try {
    await loadTypes();
    // The page checks the content (a wrapped document's hashes, a credential's proof) itself and sends the
    // service no field: only what names the anchor, the issuer and the validity.
    let asked;
    if (isCredential(doc)) {
      asked = await credentialQuery(doc);
    } else {
      const query = anchorQuery(doc);
      if (!query) return current(ticket, { message: () => t().invalidFile(t().notWrapped) });
      const summary = "the document was altered after it was issued";
      const { target_hash: target, merkle_root: root } = query.query;
      if (query.tampered) asked = { verdict: tampered([query.integrity], summary, target, root) };
      else if (query.shown && query.shown.outcome === "failed") {
        asked = { verdict: tampered([query.integrity, query.shown], query.shown.message, target, root) };
      } else {
        asked = { checks: [query.integrity, ...(query.shown ? [query.shown] : [])], path: "/v1/verify/anchor" };
        asked.body = query.query;
      }
    }
    if (asked.verdict) return current(ticket, { result: asked.verdict, document: doc });
    const response = await fetch(asked.path, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(asked.body),
    });
    if (!response.ok) return current(ticket, { message: await explain(response, forLink) });
    /** @type {Verification} */
    const result = await response.json();
    result.checks.unshift(...asked.checks);
    current(ticket, { result, document: doc });
  } catch {
    current(ticket, { message: () => t().failed });
  }
}

async function verifyFile(file) {
  // A file replaces whatever link was open: forget its fragment.
  if (location.hash) history.replaceState(null, "", location.pathname);
  const ticket = checking();
  try {
    await checkFile(file, ticket);
  } catch {
    current(ticket, { message: () => t().failed });
  }
}

async function checkFile(file, ticket) {
  await loadTypes();
  const bytes = new Uint8Array(await file.arrayBuffer());
  const isPdf = bytes.length > 4 && String.fromCharCode(...bytes.slice(0, 5)) === "%PDF-";
  let doc;
  try {
    // A PDF's attachment is read here: the file itself never leaves the browser.
    doc = isPdf ? await embeddedDocument(bytes) : JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return current(ticket, { message: () => t().invalidFile(isPdf ? t().noAttachment : "JSON") });
  }
  return verifyDocument(doc, ticket);
}

async function verifyFromFragment() {
  if (!location.hash || location.hash.length < 2) return;
  const params = shareParams(location.hash.slice(1));
  if (!params) return show({ message: () => t().badLink });
  const ticket = checking();
  let doc;
  try {
    doc = await openShare(params);
  } catch (error) {
    const kind = error instanceof ShareError ? error.kind : "failed";
    if (kind === "network") {
      const { chain, registry } = error.detail;
      return current(ticket, { message: () => t().wrongNetwork(chain, registry) });
    }
    if (kind === "unknown") return current(ticket, { message: () => t().unknownShare });
    if (kind === "bad") return current(ticket, { message: () => t().badLink });
    if (error.response) return current(ticket, { message: await explain(error.response, true) });
    return current(ticket, { message: () => t().failed });
  }
  await verifyDocument(doc, ticket, true);
}

// --- the camera --------------------------------------------------------------------

function stopCamera() {
  scanner().stop();
  $("scan").textContent = t().scan;
}

function openScanned(text) {
  let url;
  try {
    url = new URL(text);
  } catch {
    return show({ message: () => t().refusedLink });
  }
  if (url.origin !== location.origin || url.pathname !== "/verify") return show({ message: () => t().refusedLink });
  if (location.hash === url.hash) return verifyFromFragment();
  location.hash = url.hash;
}

async function toggleCamera() {
  if (scanner().running) return stopCamera();
  try {
    await scanner().start((text) => {
      $("scan").textContent = t().scan;
      openScanned(text);
    });
  } catch {
    stopCamera();
    return show({ message: () => t().noCamera });
  }
  $("scan").textContent = t().stopScan;
}

// --- wiring ------------------------------------------------------------------------

function start() {
  $("language").addEventListener("click", () => {
    state.lang = state.lang === "ar" ? "en" : "ar";
    storeLanguage(state.lang);
    applyLanguage();
  });
  $("file").addEventListener("change", (event) => {
    const [file] = event.target.files;
    if (file) verifyFile(file);
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    const [file] = event.dataTransfer.files;
    if (file) verifyFile(file);
  });
  $("scan").addEventListener("click", toggleCamera);
  $("derive").addEventListener("click", deriveCopy);
  window.addEventListener("hashchange", verifyFromFragment);
  applyLanguage();
  verifyFromFragment();
}

document.addEventListener("DOMContentLoaded", start);
