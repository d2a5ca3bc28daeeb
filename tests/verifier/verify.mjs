// Independent verifier for our Open Badges 3.0 credentials: Digital Bazaar's @digitalbazaar/vc with the
// eddsa-rdfc-2022 cryptosuite, OFFLINE. Reads {"credential": {...}, "documents": {url: json}} on stdin
// ("documents" = what the tool would serve, e.g. signed status list credentials) and prints
// {"verified": bool, "revoked": bool|null, "error": string|null}.
// The document loader serves only the contexts pinned in lti_tool/records/ob3/contexts, the given
// documents (and a fragment of one: an https issuer's profile lists its keys as verificationMethod
// entries whose ids are <profile>#key-...), and did:key (resolved from the identifier by
// @digitalbazaar/did-method-key); any other URL is an error, so nothing is fetched.
import {readFile} from 'node:fs/promises';
import {fileURLToPath} from 'node:url';
import path from 'node:path';

import * as vc from '@digitalbazaar/vc';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {checkStatus} from '@digitalbazaar/vc-bitstring-status-list';
import {cryptosuite as eddsaRdfc2022CryptoSuite} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import {driver as didKeyDriver} from '@digitalbazaar/did-method-key';

const here = path.dirname(fileURLToPath(import.meta.url));
const contextsDir = path.resolve(here, '../../lti_tool/records/ob3/contexts');
// Same URL -> file table as lti_tool/records/ob3/loader.py (PINNED_CONTEXTS).
const PINNED = {
  'https://www.w3.org/ns/credentials/v2': 'credentials-v2.json',
  'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json': 'ob-v3p0-context-3.0.3.json',
  'https://www.w3.org/ns/did/v1': 'did-v1.json',
  'https://w3id.org/security/multikey/v1': 'multikey-v1.json'
};

const didKey = didKeyDriver();
didKey.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) {
    chunks.push(chunk);
  }
  return JSON.parse(Buffer.concat(chunks).toString('utf8'));
}

function makeLoader(documents) {
  return async url => {
    if(Object.hasOwn(PINNED, url)) {
      const text = await readFile(path.join(contextsDir, PINNED[url]), 'utf8');
      return {contextUrl: null, documentUrl: url, document: JSON.parse(text)};
    }
    if(Object.hasOwn(documents, url)) {
      return {contextUrl: null, documentUrl: url, document: documents[url]};
    }
    const [base, fragment] = url.split('#', 2);
    if(fragment !== undefined && Object.hasOwn(documents, base)) {
      // Dereferencing a fragment: the verification method the document lists under that id, in the
      // document's contexts (as a did:key resolver returns one).
      const document = documents[base];
      const methods = [].concat(document.verificationMethod || []);
      const method = methods.find(m => typeof m === 'object' && m.id === url);
      if(method) {
        return {
          contextUrl: null, documentUrl: url,
          document: {'@context': document['@context'], ...method}
        };
      }
      throw new Error(`offline verifier: ${base} lists no verification method ${url}`);
    }
    if(url.startsWith('did:key:')) {
      return {contextUrl: null, documentUrl: url, document: await didKey.get({url})};
    }
    throw new Error(`offline verifier: ${url} is not pinned`);
  };
}

async function main() {
  const {credential, documents = {}} = await readStdin();
  const documentLoader = makeLoader(documents);
  const suite = new DataIntegrityProof({cryptosuite: eddsaRdfc2022CryptoSuite});
  let revoked = null;
  const result = await vc.verifyCredential({
    credential,
    suite,
    documentLoader,
    // The status list is checked by the library (its own bit order and GZIP reading); a set bit means
    // revoked, which the library reports as status=true and we turn into a failed verification.
    checkStatus: async options => {
      const status = await checkStatus({...options, verifyBitstringStatusListCredential: true});
      if(status.verified) {
        revoked = status.results.some(r => r.status === true);
        if(revoked) {
          return {verified: false, error: new Error('credential is revoked')};
        }
      }
      return status;
    }
  });
  const errors = [];
  const collect = e => {
    if(!e) {
      return;
    }
    if(Array.isArray(e)) {
      e.forEach(collect);
    } else {
      errors.push(e.message || String(e));
      collect(e.cause);
      collect(e.errors);
    }
  };
  collect(result.error);
  for(const r of result.results || []) {
    collect(r.error);
  }
  collect(result.statusResult && result.statusResult.error);
  process.stdout.write(JSON.stringify({
    verified: result.verified === true,
    revoked,
    error: errors.length ? errors.join('; ') : null
  }) + '\n');
}

main().catch(error => {
  process.stdout.write(JSON.stringify({verified: false, revoked: null, error: String(error.stack || error)}) + '\n');
});
