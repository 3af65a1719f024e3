// An independent reading of DCQL (OpenID4VP 1.0, section 6): the npm `dcql` package, for the tests.
// stdin: {"query": <DCQL query>, "presentations": {<credential query id>: [<credential JSON>, ...]}}, or
//        {"cases": [<such an object>, ...]} for many at once
// stdout: {"valid": bool, "error": string|null, "satisfied": bool|null, "matched": [ids]}, or
//         {"answers": [<such an answer>, ...]}
// Each presented credential is handed to dcql as what an ldp_vc presentation discloses: its types and
// its JSON as the claims, with no holder binding (Sijill's documents carry no holder key).
import { DcqlPresentationResult, DcqlQuery } from "dcql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const input = JSON.parse(Buffer.concat(chunks).toString("utf8"));

function answer(input) {
  let query;
  try {
    query = DcqlQuery.parse(input.query);
    DcqlQuery.validate(query);
  } catch (error) {
    return { valid: false, error: String(error && error.message), satisfied: null, matched: [] };
  }
  const presentation = Object.fromEntries(
    Object.entries(input.presentations || {}).map(([id, items]) => [
      id,
      items.map((credential) => ({
        credential_format: "ldp_vc",
        type: credential.type,
        claims: credential,
        cryptographic_holder_binding: false,
      })),
    ]),
  );
  const result = DcqlPresentationResult.fromDcqlPresentation(presentation, { dcqlQuery: query });
  const matched = Object.entries(result.credential_matches)
    .filter(([, match]) => match.success)
    .map(([id]) => id)
    .sort();
  return { valid: true, error: null, satisfied: result.can_be_satisfied, matched };
}

// dcql 3.0.0 throws a TypeError on a path element over an empty array (no element, no issue to report), or
// finds the claim there; such a case answers {"crashed": message} or that, and the tests leave it out of the
// comparison (test_dcql_oracle.py, `through_an_empty_list`).
function guarded(input) {
  try {
    return answer(input);
  } catch (error) {
    return { crashed: String(error && error.message) };
  }
}

const output = Array.isArray(input.cases) ? { answers: input.cases.map(guarded) } : answer(input);
process.stdout.write(JSON.stringify(output));
