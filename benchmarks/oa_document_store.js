// Prints OpenAttestation's DocumentStore 3.0.0 (from npm) as {abi, bytecode}, for the benchmarks.
// The package ships it inside a typechain factory that extends ethers' ContractFactory; ethers
// is not needed to read the two constants, so a stand-in class takes its place.
const Module = require("module");
const load = Module._load;
Module._load = function (request, ...rest) {
  if (request === "ethers") return { ContractFactory: class {}, Interface: class {}, Contract: class {} };
  return load.call(this, request, ...rest);
};
const { DocumentStore__factory: factory } = require("@govtechsg/document-store/dist/contracts/factories/contracts/DocumentStore__factory");
process.stdout.write(JSON.stringify({ abi: factory.abi, bytecode: factory.bytecode }));
