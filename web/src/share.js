// Opening a share link (`#c=…&k=…&r=…&s=…&v=1`): the sealed copy is fetched from the service that served
// the page and opened here with the link's key, which never leaves the browser.
import { fromBase64Url } from "./document.js";

const LINK_FIELDS = ["c", "k", "r", "s", "v"];

/** Why a link could not be opened: "bad" (damaged), "network" (another ledger), "unknown" or "failed". */
export class ShareError extends Error {
  constructor(kind, response = null, detail = {}) {
    super(kind);
    this.kind = kind;
    this.response = response;
    this.detail = detail;
  }
}

/**
 * The fields of a share link's fragment, or null when the fragment is not a share link.
 * @param {string} fragment the text after `#`
 * @returns {URLSearchParams | null}
 */
export function shareParams(fragment) {
  const params = new URLSearchParams(fragment);
  const keys = [...params.keys()].sort();
  return keys.join() === LINK_FIELDS.join() && params.get("v") === "1" ? params : null;
}

/**
 * The wrapped document behind a share link's fields, decrypted in the browser.
 * @param {URLSearchParams} params
 * @returns {Promise<any>}
 * @throws {ShareError}
 */
export async function openShare(params) {
  let network;
  let response;
  try {
    network = await (await fetch("/v1/network")).json();
    response = await fetch(`/v1/shares/${encodeURIComponent(params.get("s"))}`);
  } catch {
    throw new ShareError("failed");
  }
  const chain = params.get("c");
  const registry = params.get("r");
  if (String(network.chain_id) !== chain || String(network.registry).toLowerCase() !== registry.toLowerCase()) {
    throw new ShareError("network", null, { chain, registry });
  }
  if (response.status === 404) throw new ShareError("unknown", response);
  if (!response.ok) throw new ShareError("failed", response);
  try {
    const blob = Uint8Array.from(atob((await response.json()).blob), (c) => c.charCodeAt(0));
    const key = await crypto.subtle.importKey("raw", fromBase64Url(params.get("k")), "AES-GCM", false, ["decrypt"]);
    const plain = await crypto.subtle.decrypt({ name: "AES-GCM", iv: blob.slice(0, 12) }, key, blob.slice(12));
    return JSON.parse(new TextDecoder().decode(plain));
  } catch {
    throw new ShareError("bad");
  }
}
