// Validates Kubernetes objects (multi-document YAML) against the schemas
// generated from the Kubernetes OpenAPI spec (kubernetes-models) and from the
// Prometheus Operator's CRDs (@kubernetes-models/prometheus-operator), with
// two additions those schemas lack:
// - unknown fields are errors, as `kubectl apply` (field validation Strict)
//   makes them. The generated validators ignore properties they do not
//   declare, so each field is probed: its value is replaced by NaN, which no
//   declared field accepts (not a string, object, integer, finite number or
//   boolean); a field the schema declares yields an error at its path, an
//   unknown one yields none.
// - every object needs a name, and every kind needs a schema: an object of
//   a kind without one fails instead of passing unchecked.
//
// Usage: node validate-manifests.mjs FILE...   (exit 1 on any error)
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { parseAllDocuments } from "yaml";

const require = createRequire(import.meta.url);

// apiVersion "group/version" (or "version" for the core group) and kind to
// the model module that carries the kind's validator, or null.
function modelModule(apiVersion, kind) {
  if (typeof apiVersion !== "string" || typeof kind !== "string") return null;
  const pkg = apiVersion.startsWith("monitoring.coreos.com/")
    ? "@kubernetes-models/prometheus-operator"
    : "kubernetes-models";
  try {
    return require(`${pkg}/${apiVersion}/${kind}`);
  } catch (e) {
    if (e.code === "MODULE_NOT_FOUND" || e.code === "ERR_PACKAGE_PATH_NOT_EXPORTED") return null;
    throw e;
  }
}

// The ajv validator of a kind: returns true, or false with .errors set.
function validatorFor(apiVersion, kind) {
  const module = modelModule(apiVersion, kind);
  const model = module && module[kind];
  if (!model) return null;
  return (object) => {
    try {
      model.prototype.validate.call(object);
      return [];
    } catch (e) {
      if (!e.errors) throw e;
      return e.errors;
    }
  };
}

function pointer(path) {
  return path.map((p) => "/" + String(p).replaceAll("~", "~0").replaceAll("/", "~1")).join("");
}

// "/spec/ports/0/port" to "spec.ports[0].port".
function fromPointer(instancePath) {
  return instancePath.split("/").slice(1)
    .map((p) => p.replaceAll("~1", "/").replaceAll("~0", "~"))
    .map((p) => (/^\d+$/.test(p) ? Number(p) : p));
}

function dotted(path) {
  return path.map((p) => (typeof p === "number" ? `[${p}]` : `.${p}`)).join("").replace(/^\./, "");
}

// Paths of the fields in `root` that its validator does not declare.
function unknownFields(root, validate) {
  const unknown = [];
  const visit = (value, path) => {
    if (Array.isArray(value)) {
      value.forEach((item, i) => visit(item, [...path, i]));
    } else if (value !== null && typeof value === "object") {
      for (const key of Object.keys(value)) {
        const here = [...path, key];
        const saved = value[key];
        value[key] = NaN;
        const at = pointer(here);
        const declared = validate(root).some((e) => e.instancePath === at || e.instancePath.startsWith(at + "/"));
        value[key] = saved;
        if (declared) visit(saved, here);
        else unknown.push(here);
      }
    }
  };
  visit(root, []);
  return unknown;
}

// Errors of one object, as strings; empty when it is valid.
export function validateObject(object) {
  if (object === null || typeof object !== "object" || Array.isArray(object)) {
    return ["not an object"];
  }
  const { apiVersion, kind } = object;
  const validate = validatorFor(apiVersion, kind);
  if (!validate) return [`no schema for apiVersion ${apiVersion}, kind ${kind}`];
  const errors = [];
  if (!object.metadata || !object.metadata.name) errors.push("metadata.name is missing");
  for (const e of validate(object)) {
    errors.push(`${dotted(fromPointer(e.instancePath)) || "(object)"} ${e.message}`);
  }
  // Probing needs an otherwise valid object: a validator that stops at the
  // first error would hide the probe's.
  if (errors.length === 0) {
    for (const path of unknownFields(object, validate)) errors.push(`unknown field ${dotted(path)}`);
  }
  return errors;
}

// Validates every document of a YAML text; returns [name, errors] pairs.
export function validateText(text) {
  const results = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) {
      results.push(["(YAML)", doc.errors.map((e) => e.message)]);
      continue;
    }
    const object = doc.toJS();
    if (object === null) continue;  // An empty document.
    const name = `${object.kind}/${object.metadata && object.metadata.name}`;
    results.push([name, validateObject(object)]);
  }
  return results;
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error("usage: node validate-manifests.mjs FILE...");
    process.exit(2);
  }
  let failed = 0;
  let objects = 0;
  for (const file of files) {
    for (const [name, errors] of validateText(readFileSync(file, "utf8"))) {
      objects++;
      if (errors.length === 0) {
        console.log(`ok: ${file}: ${name}`);
      } else {
        failed++;
        for (const e of errors) console.log(`FAIL: ${file}: ${name}: ${e}`);
      }
    }
  }
  if (objects === 0) {
    console.log("FAIL: no objects to validate");
    failed++;
  }
  console.log(`schema: ${objects - failed} valid, ${failed} invalid`);
  process.exit(failed === 0 ? 0 : 1);
}
