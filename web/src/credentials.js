// A Sijill credential's ecdsa-sd-2023 proof, checked and derived in the browser with Digital Bazaar's
// libraries (bundled; the W3C contexts bundled too), so the page never sends a credential's claims anywhere.
// The key is read from the proof's verification method (`did:web:…#<multikey>`), as the core reads it: the
// chain, asked by the service, then says whose key it is and when it was valid. No DID document is fetched.
import { DataIntegrityProof } from "@digitalbazaar/data-integrity";
import { createDiscloseCryptosuite, createVerifyCryptosuite } from "@digitalbazaar/ecdsa-sd-2023-cryptosuite";
import jsigs from "jsonld-signatures";
import { credentialShapeProblem } from "./document.js";
import credentialsV2 from "../../ledger/vc/contexts/credentials-v2.jsonld";
import undefinedTerms from "../../ledger/vc/contexts/credentials-undefined-terms-v2.jsonld";
import dataIntegrity from "../../ledger/vc/contexts/data-integrity-v2.jsonld";
import multikey from "../../ledger/vc/contexts/multikey-v1.jsonld";

const CONTEXTS = {
  "https://www.w3.org/ns/credentials/v2": credentialsV2,
  "https://www.w3.org/ns/credentials/undefined-terms/v2": undefinedTerms,
  "https://w3id.org/security/data-integrity/v2": dataIntegrity,
  "https://w3id.org/security/multikey/v1": multikey,
};

async function documentLoader(url) {
  if (Object.hasOwn(CONTEXTS, url)) return { contextUrl: null, documentUrl: url, document: CONTEXTS[url] };
  const [controller, fragment] = url.split("#");
  if ((controller.startsWith("did:web:") || controller.startsWith("did:key:")) && fragment && fragment.startsWith("z")) {
    const document = {
      "@context": "https://w3id.org/security/multikey/v1",
      id: url,
      type: "Multikey",
      controller,
      publicKeyMultibase: fragment,
    };
    return { contextUrl: null, documentUrl: url, document };
  }
  throw new Error(`${url} is not something this page loads`);
}

// The proof's purpose is checked (assertionMethod); whose key it is, the service asks the chain.
const purpose = () => new jsigs.purposes.ProofPurpose({ term: "assertionMethod" });

/**
 * A copy of a holder's credential (with its base proof) disclosing only `pointers` (JSON pointers) besides what
 * the issuer made mandatory.
 * @param {any} credential
 * @param {string[]} pointers
 * @returns {Promise<any>}
 */
export async function deriveCredential(credential, pointers) {
  const suite = new DataIntegrityProof({ cryptosuite: createDiscloseCryptosuite({ selectivePointers: pointers }) });
  return jsigs.derive(credential, { suite, purpose: purpose(), documentLoader });
}

/** Whether a credential's proof is a base proof (the holder's own copy), not a derived one. */
function isBase(credential) {
  const value = credential && credential.proof && credential.proof.proofValue;
  return typeof value === "string" && value.startsWith("u2V0A"); // the base proof header, 0xd95d00
}

/**
 * Whether the credential's proof holds: a derived copy is checked as it is; the holder's own copy through a
 * copy disclosing all its claims (the cryptosuite checks derived proofs only).
 * @param {any} credential
 * @returns {Promise<{verified: boolean, reason: string | null, derived: boolean}>}
 */
export async function checkProof(credential) {
  const derived = !isBase(credential);
  const problem = credentialShapeProblem(credential, Object.keys(CONTEXTS));
  if (problem) return { verified: false, reason: problem, derived };
  try {
    const shown = isBase(credential) ? await deriveCredential(credential, ["/credentialSubject"]) : credential;
    const suite = new DataIntegrityProof({ cryptosuite: createVerifyCryptosuite() });
    const result = await jsigs.verify(shown, { suite, purpose: purpose(), documentLoader });
    if (result.verified) return { verified: true, reason: null, derived };
    const error = result.error && (result.error.errors ? result.error.errors[0] : result.error);
    return { verified: false, reason: String((error && error.message) || "the proof does not hold"), derived };
  } catch (error) {
    let reason = String((error && error.message) || error);
    for (let cause = error && error.cause; cause; cause = cause.cause) reason += `: ${cause.message || cause}`;
    return { verified: false, reason, derived };
  }
}

/**
 * What the page asks the service of a credential whose proof it checked: everything but the claims and the
 * proof's value (anchor, issuer, validity, status entries, the proof's key).
 * @param {any} credential
 * @returns {any}
 */
export function withoutClaims(credential) {
  const { credentialSubject: _claims, proof, ...rest } = credential;
  const { proofValue: _value, ...method } = proof || {};
  return { ...rest, proof: method };
}
