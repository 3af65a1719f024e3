// An independent verifier for the interop tests: Digital Bazaar's VC library (@digitalbazaar/vc) with its
// ecdsa-sd-2023 cryptosuite and its Bitstring Status List checker.
// stdin: {"credentials": [...], "contexts": {url: context}, "service": "http://127.0.0.1:PORT" (optional),
//         "derive": [{"credential": ..., "pointers": [...]}] (optional), "now": ISO 8601 (optional)}
// stdout: {"answers": [{"verified": bool, "errors": [text], "status": {purpose: bool} | null}],
//          "derived": [credential]}
// Contexts come only from the input and did:key documents from the did:key driver. With a service, its
// did:web documents and status lists are fetched from it over HTTP (127.0.0.1 only); without one, the
// status lists are not read (status null) and only the proofs are checked. Nothing else is fetched.
import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {
  createDiscloseCryptosuite, createVerifyCryptosuite
} from '@digitalbazaar/ecdsa-sd-2023-cryptosuite';
import * as EcdsaMultikey from '@digitalbazaar/ecdsa-multikey';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';
import {checkStatus as checkBitstringStatus} from '@digitalbazaar/vc-bitstring-status-list';

const input = JSON.parse(await new Promise(resolve => {
  let text = ''; process.stdin.on('data', c => text += c); process.stdin.on('end', () => resolve(text));
}));
const service = input.service ? new URL(input.service) : null;
const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'zDna', fromMultibase: EcdsaMultikey.from});

async function fetchJson(url) {
  const address = new URL(url);
  if(!service || address.origin !== service.origin) {
    throw new Error(`offline: ${url} is not the service's`);
  }
  const response = await fetch(address);
  if(!response.ok) {
    throw new Error(`${url}: HTTP ${response.status}`);
  }
  return response.json();
}

// did:web (https://w3c-ccg.github.io/did-method-web/): colons are path separators, %3A a port's colon.
async function resolveDidWeb(url) {
  const [did, fragment] = url.split('#');
  const [host, ...path] = did.slice('did:web:'.length).split(':');
  const scheme = service ? service.protocol : 'https:';
  const where = `${scheme}//${decodeURIComponent(host)}/${path.length ? path.join('/') : '.well-known'}/did.json`;
  const document = await fetchJson(where);
  if(document.id !== did) {
    throw new Error(`the DID document at ${where} is not ${did}'s`);
  }
  if(!fragment) {
    return document;
  }
  const method = (document.verificationMethod || []).find(item => item.id === url);
  if(!method) {
    throw new Error(`${did}'s document lists no key ${url}`);
  }
  return {'@context': document['@context'], ...method};
}

const documentLoader = async url => {
  if(input.contexts[url]) {
    return {contextUrl: null, documentUrl: url, document: input.contexts[url]};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKey.get({url})};
  }
  if(url.startsWith('did:web:')) {
    return {contextUrl: null, documentUrl: url, document: await resolveDidWeb(url)};
  }
  return {contextUrl: null, documentUrl: url, document: await fetchJson(url)};
};

const suite = new DataIntegrityProof({cryptosuite: createVerifyCryptosuite()});
const answers = [];
for(const credential of input.credentials) {
  try {
    let status = null;
    const checkStatus = service ?
      async options => {
        const result = await checkBitstringStatus({...options, suite, documentLoader});
        if(result.verified) {
          status = Object.fromEntries(result.results.map(r => [r.credentialStatus.statusPurpose, r.status]));
        }
        return result;
      } :
      async () => ({verified: true});
    const now = input.now ? new Date(input.now) : undefined;
    const result = await vc.verifyCredential({credential, suite, documentLoader, checkStatus, now});
    const errors = [result.error, result.statusResult?.error, ...(result.results || []).map(r => r.error)]
      .filter(Boolean).map(e => String(e.message || e));
    answers.push({verified: result.verified, errors, status});
  } catch(error) {
    answers.push({verified: false, errors: [String(error.message || error)], status: null});
  }
}
const derived = [];
for(const {credential, pointers} of input.derive || []) {
  const disclose = new DataIntegrityProof({cryptosuite: createDiscloseCryptosuite({selectivePointers: pointers})});
  derived.push(await vc.derive({verifiableCredential: credential, suite: disclose, documentLoader}));
}
console.log(JSON.stringify({answers, derived}));
