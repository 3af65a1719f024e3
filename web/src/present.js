// The holder's consent page (OpenID4VP 1.0, direct_post): who asks, why, and exactly which details of which
// documents would leave the device. Documents are read here; on consent, each is copied with every detail
// that was not asked for hidden (OpenAttestation obfuscation: the copy still verifies), and only those copies
// go to the request's response URI. Refusing sends nothing.
import { DcqlQuery } from "dcql";
import { Scanner } from "./camera.js";
import { deriveCredential } from "./credentials.js";
import {
  credentialData,
  embeddedDocument,
  hideFields,
  isCredential,
  neverHidden,
  selectPath,
  typeName,
  unrequestedPaths,
  unsalt,
} from "./document.js";
import { CONSENT_STRINGS } from "./consent-i18n.js";
import { LOCALES } from "./i18n.js";
import { display as displayIn, fetchDocumentTypes, humanize } from "./labels.js";
import { openShare, shareParams } from "./share.js";

const $ = (id) => document.getElementById(id);
const SUBJECT = "credentialSubject";

const state = {
  lang: (navigator.language || "en").startsWith("ar") ? "ar" : "en",
  request: null, // the request object
  types: {}, // document types by credential type name: {name, title, titleAr, labels}
  docs: [], // {doc, data}
  message: null,
  outcome: null, // {kind: "refused" | "sent" | "rejected", reasons, redirect}
  sending: false,
};
const t = () => CONSENT_STRINGS[state.lang];

// --- reading ---------------------------------------------------------------------------------------

const display = (value) => displayIn(value, state.lang, "; ");

function formatDate(iso) {
  return new Intl.DateTimeFormat(LOCALES[state.lang], { dateStyle: "long", timeStyle: "short" }).format(new Date(iso));
}

function typeOf(query) {
  const names = (query.meta && query.meta.type_values) || [];
  const wanted = names.map((option) => option[option.length - 1]);
  return wanted.map((name) => state.types[name]).find(Boolean) || { title: wanted[0] || "", titleAr: wanted[0] || "", labels: {} };
}

function typeTitle(type) {
  return state.lang === "ar" ? type.titleAr : type.title;
}


/**
 * The subject paths a wrapped document's type says no holder may hide: they leave with any copy.
 * @returns {string[][]}
 */
function alwaysShown(entry) {
  if (entry.credential) return [];
  return neverHidden(entry.doc.data)
    .filter((path) => path.startsWith("subject."))
    .map((path) => path.split(".").slice(1));
}

/** A claim path for people: the field's label, then each deeper key. */
function pathLabel(path, type) {
  const parts = path[0] === SUBJECT ? path.slice(1) : path;
  const [first, ...rest] = parts;
  const label = type.labels[first] ? type.labels[first][state.lang === "ar" ? 1 : 0] : humanize(first);
  const deeper = rest.filter((part) => typeof part === "string").map(humanize);
  const list = rest.some((part) => part === null || typeof part === "number") ? ` (${t().wholeList})` : "";
  return [label, ...deeper].join(" › ") + list;
}

/** What a DCQL query is held against: a credential as it is; a wrapped document as the credential it stands for. */
function asCredential(entry) {
  if (entry.credential) {
    return { credential_format: "ldp_vc", type: entry.doc.type, claims: entry.doc, cryptographic_holder_binding: false };
  }
  return {
    credential_format: "ldp_vc",
    type: ["VerifiableCredential", typeName(entry.data.documentType || "")],
    claims: { [SUBJECT]: entry.data.subject || {} },
    cryptographic_holder_binding: false,
  };
}

/**
 * The copy of a document that shows only `claims`: a credential derived in the browser (ecdsa-sd-2023), a
 * wrapped document with every other field hidden (OpenAttestation). Either still verifies.
 */
async function copyShowing(entry, claims) {
  // A path into a list keeps the whole list: that is what both forms can show of it.
  const kept = claims.map((claim) => {
    const path = claim.path.slice(1);
    const cut = path.findIndex((part) => part === null || typeof part === "number");
    return cut < 0 ? path : path.slice(0, cut);
  });
  if (entry.credential) {
    const escape = (part) => String(part).replace(/~/g, "~0").replace(/\//g, "~1");
    return deriveCredential(entry.doc, kept.map((path) => `/${SUBJECT}/${path.map(escape).join("/")}`));
  }
  return hideFields(entry.doc, unrequestedPaths(entry.doc.data.subject, [...kept, ...alwaysShown(entry)]));
}

/** A document's subject (its fields), as plain values. */
function subjectOf(entry) {
  return entry.data.subject || {};
}

/** The claims of `query` a document gives: the first claim set it meets, or every claim. */
function chosenClaims(query, entry) {
  const claims = { [SUBJECT]: subjectOf(entry) };
  const present = (claim) => selectPath(claims, claim.path).length > 0;
  if (!query.claim_sets) return query.claims;
  const byId = Object.fromEntries(query.claims.map((claim) => [claim.id, claim]));
  const option = query.claim_sets.find((ids) => ids.every((id) => present(byId[id]))) || query.claim_sets[0];
  return option.map((id) => byId[id]);
}

/** Which added document answers which credential query (one document, one query), and what is still missing. */
function assignment() {
  const query = state.request.dcql_query;
  const assigned = {};
  let result = { credential_matches: {} };
  if (state.docs.length) {
    try {
      result = DcqlQuery.query(DcqlQuery.parse(query), state.docs.map(asCredential));
    } catch {
      state.message = () => t().badRequest; // a query the wallet library cannot read: nothing can be sent
    }
  }
  const used = new Set();
  for (const credential of query.credentials) {
    const match = result.credential_matches[credential.id];
    if (!match || !match.success) continue;
    const index = match.valid_credentials.map((v) => v.input_credential_index).find((i) => !used.has(i));
    if (index === undefined) continue;
    used.add(index);
    assigned[credential.id] = index;
  }
  const answered = new Set(Object.keys(assigned));
  const sets = query.credential_sets || [{ options: [query.credentials.map((c) => c.id)], required: true }];
  const missing = [];
  for (const set of sets) {
    if (set.required === false) continue;
    if (!set.options.some((option) => option.every((id) => answered.has(id)))) missing.push(set.options);
  }
  return { assigned, met: missing.length === 0, missing };
}

/** The credential query ids whose documents are sent: each required set's first met option, and met optional ones. */
function toSend(assigned) {
  const query = state.request.dcql_query;
  if (!query.credential_sets) return Object.keys(assigned);
  const ids = new Set();
  for (const set of query.credential_sets) {
    const option = set.options.find((o) => o.every((id) => id in assigned));
    if (option) option.forEach((id) => ids.add(id));
  }
  return [...ids];
}

// --- rendering -------------------------------------------------------------------------------------

function applyLanguage() {
  const words = t();
  document.documentElement.lang = state.lang;
  document.documentElement.dir = state.lang === "ar" ? "rtl" : "ltr";
  for (const node of document.querySelectorAll("[data-i18n]")) {
    const value = words[node.dataset.i18n];
    if (typeof value === "string") node.textContent = value;
  }
  document.title = words.pageTitle;
  const button = $("language");
  button.textContent = words.languageButton;
  button.setAttribute("aria-label", words.languageLabel);
  button.lang = state.lang === "ar" ? "en" : "ar";
  render();
}

function item(text) {
  const li = document.createElement("li");
  li.textContent = text;
  return li;
}

function renderRequest() {
  const words = t();
  const request = state.request;
  $("request").hidden = !request;
  if (!request) return;
  const meta = request.client_metadata || {};
  const name = (state.lang === "ar" && meta["client_name#ar"]) || meta.client_name || request.client_id;
  $("asks").textContent = words.asks(name);
  $("purpose").textContent = request.purpose[state.lang] || request.purpose.en;
  $("expires").textContent = formatDate(request.expires_at);
  const query = request.dcql_query;
  const describe = (credential) => {
    const type = typeOf(credential);
    const li = item(typeTitle(type));
    const claims = document.createElement("ul");
    claims.append(...credential.claims.map((claim) => item(pathLabel(claim.path, type))));
    li.append(claims);
    return li;
  };
  const byId = Object.fromEntries(query.credentials.map((c) => [c.id, c]));
  const sets = query.credential_sets || query.credentials.map((c) => ({ options: [[c.id]] }));
  $("queries").replaceChildren(
    ...sets.map((set) => {
      if (set.options.length === 1) {
        const group = document.createElement("li");
        const list = document.createElement("ul");
        list.className = "alternatives";
        list.append(...set.options[0].map((id) => describe(byId[id])));
        group.append(list);
        return group;
      }
      const group = item(words.oneOf);
      const list = document.createElement("ul");
      list.append(...set.options.map((option) => describe(byId[option[0]])));
      group.append(list);
      return group;
    }),
  );
  const rules = request.rules || [];
  $("rules-box").hidden = rules.length === 0;
  $("rules-title").textContent = words.rules(name);
  $("rules").replaceChildren(...rules.map((rule) => item(rule.label)));
}

function renderDocuments() {
  const words = t();
  const container = $("documents");
  container.replaceChildren();
  if (!state.request) return null;
  const plan = assignment();
  const sending = new Set(toSend(plan.assigned));
  const byIndex = Object.fromEntries(Object.entries(plan.assigned).map(([id, index]) => [index, id]));
  state.docs.forEach((entry, index) => {
    const section = document.createElement("section");
    section.className = "card";
    section.dataset.document = String(index);
    const id = byIndex[index];
    const credential = id && state.request.dcql_query.credentials.find((c) => c.id === id);
    const type = credential ? typeOf(credential) : { title: entry.data.documentType, titleAr: entry.data.documentType, labels: {} };
    const agency = entry.agencyName || (entry.data.sijill && entry.data.sijill.agencyName);
    const heading = document.createElement("h2");
    heading.textContent = words.from(typeTitle(type), display(agency) || "—");
    section.append(heading);
    if (!credential || !sending.has(id)) {
      section.append(Object.assign(document.createElement("p"), { className: "hidden-field", textContent: words.notAsked }));
    } else {
      const table = document.createElement("table");
      table.className = "shared";
      const claims = { [SUBJECT]: subjectOf(entry) };
      for (const claim of chosenClaims(credential, entry)) {
        const row = table.insertRow();
        const head = document.createElement("th");
        head.scope = "row";
        head.textContent = pathLabel(claim.path, type);
        row.append(head);
        // A path into a list shows the whole list: OpenAttestation sends a list only whole.
        const cut = claim.path.findIndex((part) => part === null || typeof part === "number");
        row.insertCell().textContent = display(selectPath(claims, cut < 0 ? claim.path : claim.path.slice(0, cut))[0]);
      }
      section.append(table);
      const requested = chosenClaims(credential, entry).map((claim) => claim.path.slice(1));
      const stays = unrequestedPaths(subjectOf(entry), [...requested, ...alwaysShown(entry)]).length;
      section.append(Object.assign(document.createElement("p"), { className: "hidden-field", textContent: words.stays(stays) }));
    }
    const remove = Object.assign(document.createElement("button"), { type: "button", className: "button secondary", textContent: words.removeDoc });
    remove.addEventListener("click", () => {
      state.docs.splice(index, 1);
      render();
    });
    section.append(remove);
    container.append(section);
  });
  return plan;
}

function renderOutcome() {
  const words = t();
  const outcome = state.outcome;
  $("outcome").hidden = !outcome;
  if (!outcome) return;
  const name = (state.request && (state.lang === "ar" ? state.request.client_metadata["client_name#ar"] : state.request.client_metadata.client_name)) || "";
  $("outcome-text").textContent =
    outcome.kind === "refused" ? words.refused : outcome.kind === "sent" ? words.accepted(name) : words.notAccepted;
  $("outcome-reasons").replaceChildren(...(outcome.reasons || []).map(item));
  const back = $("back");
  back.hidden = !outcome.redirect;
  if (outcome.redirect) {
    back.href = outcome.redirect;
    back.textContent = words.back(name);
  }
}

function render() {
  const words = t();
  $("message").hidden = !state.message;
  $("message").textContent = state.message ? state.message() : "";
  renderRequest();
  const open = Boolean(state.request) && !state.outcome;
  $("add").hidden = !open;
  $("decide").hidden = !open;
  const plan = open ? renderDocuments() : ($("documents").replaceChildren(), null);
  if (plan) {
    const byId = Object.fromEntries(state.request.dcql_query.credentials.map((c) => [c.id, c]));
    const names = plan.missing.map((options) => options.map((option) => option.map((id) => typeTitle(typeOf(byId[id]))).join(" + ")).join(" / "));
    $("missing").textContent = plan.met ? "" : words.missing(names.join("; "));
    $("ready").hidden = !plan.met;
    $("consent").disabled = !plan.met || state.sending;
    $("consent").textContent = state.sending ? words.sending : words.consent;
  }
  renderOutcome();
}

// --- adding documents ------------------------------------------------------------------------------

function note(text) {
  const message = $("add-message");
  message.hidden = !text;
  message.textContent = text || "";
}

/** A document's identity, to add it once: its target hash (a credential's id names it too). */
function identity(doc) {
  return isCredential(doc) ? String(doc.id).replace(/^urn:sijill:/, "") : doc.signature.targetHash;
}

async function add(doc) {
  let entry;
  if (isCredential(doc)) {
    const read = credentialData(doc, Object.values(state.types).map((type) => type.name));
    if (!read.sijill || !doc.proof) return note(t().unknownDocument);
    entry = { doc, credential: true, data: { documentType: read.documentType, subject: read.subject } };
    const agency = /:agencies:([a-z0-9-]+)$/.exec(String(doc.issuer && (doc.issuer.id || doc.issuer)));
    if (agency) entry.agencyName = await agencyName(agency[1]);
  } else {
    if (!doc || typeof doc !== "object" || !doc.data || !doc.signature) return note(t().unknownDocument);
    entry = { doc, credential: false, data: unsalt(doc.data) };
  }
  if (state.docs.some((kept) => identity(kept.doc) === identity(doc))) return note("");
  state.docs.push(entry);
  note("");
  render();
}

/** An agency's name as the registry gives it (public), for a credential, which names its issuer by DID only. */
async function agencyName(agencyId) {
  try {
    const response = await fetch(`/v1/agencies/${encodeURIComponent(agencyId)}`);
    if (!response.ok) return agencyId;
    const agency = await response.json();
    return { en: agency.name, ar: agency.name_ar || agency.name };
  } catch {
    return agencyId;
  }
}

async function addFile(file) {
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const isPdf = new TextDecoder("latin1").decode(bytes.slice(0, 5)) === "%PDF-";
    await add(isPdf ? await embeddedDocument(bytes) : JSON.parse(new TextDecoder().decode(bytes)));
  } catch {
    note(t().unknownDocument);
  }
}

async function addLink(text = $("link").value.trim()) {
  let params = null;
  try {
    const url = new URL(text);
    if (url.origin === location.origin && url.pathname === "/verify") params = shareParams(url.hash.slice(1));
  } catch {
    params = null;
  }
  if (!params) return note(t().unknownDocument);
  try {
    await add(await openShare(params));
    $("link").value = "";
  } catch {
    note(t().unknownDocument);
  }
}

let camera = null;

async function toggleCamera() {
  camera = camera || new Scanner($("camera"), $("frame"));
  if (camera.running) {
    camera.stop();
    $("scan").textContent = t().scan;
    return;
  }
  try {
    await camera.start((text) => {
      $("scan").textContent = t().scan;
      addLink(text);
    });
  } catch {
    camera.stop();
    return note(t().noCamera);
  }
  $("scan").textContent = t().stopScan;
}

// --- answering -------------------------------------------------------------------------------------

async function consent() {
  const plan = assignment();
  if (!plan.met || state.sending) return;
  const request = state.request;
  const vpToken = {};
  state.sending = true;
  render();
  try {
    for (const id of toSend(plan.assigned)) {
      const entry = state.docs[plan.assigned[id]];
      const credential = request.dcql_query.credentials.find((c) => c.id === id);
      vpToken[id] = [await copyShowing(entry, chosenClaims(credential, entry))];
    }
  } catch {
    state.sending = false;
    state.message = () => t().failed;
    return render();
  }
  const target = new URL(request.response_uri);
  if (target.origin !== location.origin) {
    state.sending = false;
    state.message = () => t().badRequest;
    return render();
  }
  let response;
  try {
    response = await fetch(target.pathname, {
      method: "POST",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ vp_token: JSON.stringify(vpToken), state: request.state }),
    });
  } catch {
    state.sending = false;
    state.message = () => t().failed;
    return render();
  }
  state.sending = false;
  if (response.ok) {
    const answer = await response.json();
    state.docs = [];
    state.outcome = { kind: answer.accepted ? "sent" : "rejected", reasons: answer.reasons, redirect: answer.redirect_uri || null };
  } else if (response.status === 503) {
    state.message = () => t().chainDown;
  } else if (response.status === 429) {
    const seconds = Number.parseInt(response.headers.get("Retry-After") || "60", 10) || 60;
    state.message = () => t().tooMany(seconds);
  } else {
    let why = "";
    try {
      why = (await response.json()).error.message;
    } catch {
      why = response.statusText;
    }
    state.docs = [];
    state.outcome = { kind: "rejected", reasons: [why], redirect: null };
  }
  render();
}

function refuse() {
  state.docs = [];
  state.outcome = { kind: "refused", reasons: [], redirect: null };
  render();
}

// --- starting --------------------------------------------------------------------------------------

async function loadTypes() {
  state.types = Object.fromEntries((await fetchDocumentTypes()).map((type) => [type.credentialType, type]));
}

async function openRequest() {
  const params = new URLSearchParams(location.hash.slice(1));
  let uri = null;
  try {
    uri = new URL(params.get("request_uri") || "");
  } catch {
    uri = null;
  }
  if (!uri || uri.origin !== location.origin || !/^\/v1\/presentations\/[A-Za-z0-9_-]+\/request$/.test(uri.pathname)) {
    state.message = () => t().badRequest;
    return render();
  }
  let response;
  try {
    response = await fetch(uri.pathname);
  } catch {
    state.message = () => t().failed;
    return render();
  }
  if (response.status === 410) state.message = () => t().expired;
  else if (!response.ok) state.message = () => t().badRequest;
  else state.request = await response.json();
  render();
}

async function start() {
  $("language").addEventListener("click", () => {
    state.lang = state.lang === "ar" ? "en" : "ar";
    applyLanguage();
  });
  $("file").addEventListener("change", async (event) => {
    for (const file of event.target.files) await addFile(file);
    event.target.value = "";
  });
  const drop = $("drop");
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("over");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", async (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    for (const file of event.dataTransfer.files) await addFile(file);
  });
  $("open-link").addEventListener("click", () => addLink());
  $("scan").addEventListener("click", toggleCamera);
  $("consent").addEventListener("click", consent);
  $("refuse").addEventListener("click", refuse);
  applyLanguage();
  await loadTypes();
  await openRequest();
}

document.addEventListener("DOMContentLoaded", start);
