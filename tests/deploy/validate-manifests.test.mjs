// The validator rejects objects with one defect each (tests/deploy/broken,
// every file names its expected error in a "# expect:" line), and only for
// that defect; so a passing render means something.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { validateText } from "./validate-manifests.mjs";

const brokenDir = join(dirname(fileURLToPath(import.meta.url)), "broken");
const files = readdirSync(brokenDir).filter((f) => f.endsWith(".yaml")).sort();

test("there are broken fixtures", () => {
  assert.ok(files.length >= 5, `only ${files.length} fixtures in ${brokenDir}`);
});

for (const file of files) {
  test(`rejects ${file}`, () => {
    const text = readFileSync(join(brokenDir, file), "utf8");
    const expected = /^# expect: (.+)$/m.exec(text);
    assert.ok(expected, `${file} has no "# expect:" line`);
    const results = validateText(text);
    assert.equal(results.length, 1, `${file} must hold exactly one object`);
    const [name, errors] = results[0];
    assert.ok(errors.length > 0, `${file}: ${name} passed validation`);
    for (const e of errors) {
      assert.ok(e.includes(expected[1]), `${file}: ${name}: unexpected error "${e}", want "${expected[1]}"`);
    }
  });
}

test("accepts a correct object of each schema source", () => {
  const good = `
apiVersion: apps/v1
kind: Deployment
metadata: {name: quantd, labels: {app.kubernetes.io/name: quantd}}
spec:
  selector: {matchLabels: {app: quantd}}
  template:
    metadata: {labels: {app: quantd}}
    spec:
      containers:
        - name: quantd
          image: quantd
          ports: [{containerPort: 50051, name: grpc}]
          readinessProbe: {grpc: {port: 50051, service: quantd.v1.Quantizer}}
          resources: {limits: {cpu: "2", memory: 4Gi}}
---
apiVersion: monitoring.coreos.com/v1
kind: ServiceMonitor
metadata: {name: quantd}
spec:
  selector: {matchLabels: {app: quantd}}
  endpoints: [{port: metrics, interval: 15s}]
`;
  for (const [name, errors] of validateText(good)) assert.deepEqual(errors, [], name);
});
