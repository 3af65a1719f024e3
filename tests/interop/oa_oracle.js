// OpenAttestation's own library as an oracle for Sijill's documents.
// Reads {"verify": [...], "obfuscate": [{document, fields}], "wrap": [...data]} on stdin,
// writes what OpenAttestation makes of each on stdout.
const oa = require("@govtechsg/open-attestation");

let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const request = JSON.parse(input);
  const result = {
    verify: (request.verify || []).map((document) => ({
      signature: oa.verifySignature(document),
      schema: oa.validateSchema(document),
      data: oa.getData(document),
    })),
    obfuscate: (request.obfuscate || []).map(({ document, fields }) => oa.obfuscate(document, fields)),
    wrap: request.wrap && request.wrap.length ? oa.wrapDocuments(request.wrap) : [],
  };
  process.stdout.write(JSON.stringify(result));
});
