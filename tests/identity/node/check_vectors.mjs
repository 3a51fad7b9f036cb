// Runs the hub's signing vectors through the JavaScript reference snippet of
// docs/partners/connect.md (signing) and through the verifier below (a second, independent
// verifier written from the specification), with Node's built-in crypto only.
//
//   node check_vectors.mjs <hub-signing.mjs> <signing-vectors.json>
//
// Prints {"sign": {name: "same" | what differs}, "verify": {name: verdict}} as JSON.
import { createHash, createPrivateKey, createPublicKey, verify as edVerify } from "node:crypto";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";

const [snippetPath, vectorsPath] = process.argv.slice(2);
const hub = await import(pathToFileURL(snippetPath).href);
const vectors = JSON.parse(readFileSync(vectorsPath, "utf8"));

const b = (v) => (v === null ? null : Buffer.from(v, "base64"));
const asRecord = (r) => ({
  topic: r.topic,
  key: b(r.key),
  value: b(r.value),
  headers: r.headers.map(([n, v]) => [n, b(v)]),
});
const PKCS8_ED25519 = Buffer.from("302e020100300506032b657004220420", "hex");
const SPKI_ED25519 = Buffer.from("302a300506032b6570032100", "hex");
const privateKey = (k) =>
  createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, Buffer.from(vectors.keys[k].seed_hex, "hex")]), format: "der", type: "pkcs8" });

function sameHeaders(got, want) {
  const g = JSON.stringify(got.map((hs) => hs.map(([n, v]) => [n, v === null ? null : Buffer.from(v).toString("base64")])));
  return g === JSON.stringify(want) ? "same" : `got ${g}`;
}

const sign = {};
for (const c of vectors.sign) {
  const records = c.records.map(asRecord);
  const key = privateKey(c.key_id);
  if (c.form === "per-record") {
    sign[c.name] = sameHeaders([hub.signRecord(key, c.key_id, records[0])], c.added_headers);
    continue;
  }
  const leaves = records.map((r) => hub.leafInput(r).toString("hex"));
  const hashes = records.map((r) => hub.leafHash(hub.leafInput(r)).toString("hex"));
  if (JSON.stringify(leaves) !== JSON.stringify(c.leaf_inputs)) sign[c.name] = "leaf inputs differ";
  else if (JSON.stringify(hashes) !== JSON.stringify(c.leaf_hashes)) sign[c.name] = "leaf hashes differ";
  else sign[c.name] = sameHeaders(hub.signBatch(key, c.key_id, records), c.added_headers);
}

// ---- an independent verifier, from the specification ------------------------------------
const SIG = ["hub.sig", "hub.sig.key", "hub.sig.batch", "hub.sig.index", "hub.sig.size", "hub.sig.path"];
const BATCH_ONLY = ["hub.sig.batch", "hub.sig.index", "hub.sig.size", "hub.sig.path"];
const MAX_BATCH = 65536;
const MAX_PATH_B64 = 684;
const B64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const DECIMAL = /^(?:0|[1-9][0-9]{0,5})$/;
const sha = (...p) => createHash("sha256").update(Buffer.concat(p)).digest();
const i32 = (n) => { const x = Buffer.alloc(4); x.writeInt32BE(n); return x; };
const part = (v) => (v === null ? i32(-1) : Buffer.concat([i32(v.length), v]));
const publicKeys = Object.fromEntries(
  Object.entries(vectors.keys)
    .filter(([, k]) => k.registered)
    .map(([id, k]) => [id, createPublicKey({ key: Buffer.concat([SPKI_ED25519, Buffer.from(k.public_hex, "hex")]), format: "der", type: "spki" })]),
);

class Verdict extends Error {}
const fail = (code) => { throw new Verdict(code); };
const b64strict = (buf) => { const s = buf.toString("latin1"); return B64.test(s) ? Buffer.from(s, "base64") : null; };

function rootFromPath(leaf, index, size, path) {      // RFC 9162 2.1.3.2
  let fn = index, sn = size - 1, r = leaf;
  for (const p of path) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = sha(Buffer.from([1]), p, r);
      if (fn % 2 === 0) while (fn !== 0 && fn % 2 === 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else r = sha(Buffer.from([1]), r, p);
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

function check(rec) {
  const found = {};
  for (const [n, v] of rec.headers) {
    if (!SIG.includes(n)) continue;
    if (n in found) fail("bad-signature");
    found[n] = v ?? Buffer.alloc(0);
  }
  if ("hub.sig" in found && BATCH_ONLY.some((n) => n in found)) fail("bad-signature");
  const rawSig = found["hub.sig"]?.length ? found["hub.sig"] : found["hub.sig.batch"];
  if (!rawSig?.length || !found["hub.sig.key"]?.length) fail("unsigned");
  const keyId = found["hub.sig.key"].toString("utf8");
  const publicKey = publicKeys[keyId];
  if (!publicKey) fail("unknown-signer");
  const signature = b64strict(rawSig);
  if (!signature || signature.length !== 64) fail("bad-signature");
  let message;
  if ("hub.sig" in found) {
    message = Buffer.concat([Buffer.from("partner-data-hub/record-signature/v1"), part(Buffer.from(rec.topic)), part(rec.key), part(rec.value)]);
  } else {
    const [index, size] = ["hub.sig.index", "hub.sig.size"].map((n) => {
      const s = found[n]?.toString("latin1");
      if (s === undefined || !DECIMAL.test(s)) fail("bad-signature");
      return Number(s);
    });
    if (size < 1 || size > MAX_BATCH || index >= size) fail("bad-signature");
    const rawPath = found["hub.sig.path"];
    if (rawPath === undefined || rawPath.length > MAX_PATH_B64) fail("bad-signature");
    const path = b64strict(rawPath);
    if (path === null || path.length % 32 !== 0) fail("bad-signature");
    const hashes = [];
    for (let i = 0; i < path.length; i += 32) hashes.push(path.subarray(i, i + 32));
    const root = rootFromPath(hub.leafHash(hub.leafInput(rec)), index, size, hashes);
    if (root === null) fail("bad-signature");
    const n = Buffer.alloc(8); n.writeBigUInt64BE(BigInt(size));
    message = Buffer.concat([Buffer.from("partner-data-hub/batch-root/v2"), n, root]);
  }
  if (!edVerify(null, message, publicKey, signature)) fail("bad-signature");
  const owner = /^partner\.([a-z0-9-]+)\./.exec(rec.topic)?.[1];
  return owner === keyId.split("/")[0] ? "ok" : "partner-mismatch";
}

const verify = {};
for (const c of vectors.verify) {
  try {
    verify[c.name] = check(asRecord(c.record));
  } catch (e) {
    if (!(e instanceof Verdict)) throw e;
    verify[c.name] = e.message;
  }
}
process.stdout.write(JSON.stringify({ sign, verify }) + "\n");
