#!/usr/bin/env node
// Validate KEDA and Karpenter objects with the schemas of @kubernetes-models/keda and
// @kubernetes-models/karpenter (their `validate()`), installed by scripts/tools.sh.
//
//   node scripts/validate-models.mjs [--require] FILE_OR_DIR...
//   node scripts/validate-models.mjs --self-test
//
// Files are YAML streams (multi-document, `kind: List` expanded); directories are walked
// recursively for *.yaml and *.yml. Checked: keda.sh/v1alpha1 ScaledObject and
// TriggerAuthentication, karpenter.sh/v1 NodePool, karpenter.k8s.aws/v1 EC2NodeClass. Anything
// else is counted as skipped. Output: one line per failure, `FILE: Kind/namespace/name: message`,
// then `validate-models: N checked, M failed, K skipped`.
// Exit: 0 all valid; 1 a failure (or, with --require, nothing checked); 2 usage error.
//
// YAML is read with YAML 1.1 scalars (as the Kubernetes API machinery does: `yes` is a boolean,
// `010` is octal), except that timestamps stay strings, as they do for the API server.

import { createRequire } from "node:module";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const SCRIPT_DIR = path.dirname(fileURLToPath(import.meta.url));
const TOOLS_DIR = process.env.LAYER_TOOLS_DIR || path.resolve(SCRIPT_DIR, "..", ".tools");
const NODE_DIR = path.join(TOOLS_DIR, "node");

// apiVersion -> kind -> [package, module path inside the package, exported class]
const MODELS = {
  "keda.sh/v1alpha1": {
    ScaledObject: ["@kubernetes-models/keda", "keda.sh/v1alpha1/ScaledObject.js"],
    TriggerAuthentication: ["@kubernetes-models/keda", "keda.sh/v1alpha1/TriggerAuthentication.js"],
  },
  "karpenter.sh/v1": {
    NodePool: ["@kubernetes-models/karpenter", "karpenter.sh/v1/NodePool.js"],
  },
  "karpenter.k8s.aws/v1": {
    EC2NodeClass: ["@kubernetes-models/karpenter", "karpenter.k8s.aws/v1/EC2NodeClass.js"],
  },
};

class UsageError extends Error {}

function loadDeps() {
  // Resolve from .tools/node/node_modules, whatever the working directory.
  const require = createRequire(path.join(NODE_DIR, "package.json"));
  let yaml;
  try {
    yaml = require("js-yaml");
  } catch (e) {
    throw new UsageError(`cannot load js-yaml from ${NODE_DIR}: run scripts/tools.sh (${e.message})`);
  }
  const packageRoot = (pkg) => {
    try {
      return path.dirname(require.resolve(`${pkg}/package.json`));
    } catch (e) {
      throw new UsageError(`cannot find ${pkg} in ${NODE_DIR}: run scripts/tools.sh (${e.message})`);
    }
  };
  return { yaml, packageRoot };
}

async function loadModels(packageRoot) {
  // The model packages are ESM-only with an `import`-only exports map, so import their files.
  const classes = {};
  for (const [apiVersion, kinds] of Object.entries(MODELS)) {
    classes[apiVersion] = {};
    for (const [kind, [pkg, file]] of Object.entries(kinds)) {
      const mod = await import(pathToFileURL(path.join(packageRoot(pkg), file)).href);
      if (typeof mod[kind] !== "function") {
        throw new UsageError(`${pkg}/${file} does not export ${kind}`);
      }
      classes[apiVersion][kind] = mod[kind];
    }
  }
  return classes;
}

function walk(p, out) {
  let st;
  try {
    st = fs.statSync(p);
  } catch (e) {
    throw new UsageError(`${p}: ${e.code === "ENOENT" ? "no such file or directory" : e.message}`);
  }
  if (st.isDirectory()) {
    for (const name of fs.readdirSync(p).sort()) {
      const child = path.join(p, name);
      let isDir = false;
      try {
        isDir = fs.statSync(child).isDirectory();
      } catch {
        // A dangling symlink inside a directory is not an input.
      }
      if (isDir || /\.ya?ml$/.test(name)) walk(child, out);
    }
  } else {
    out.push(p);
  }
}

function stringifyDates(v) {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? String(v) : v.toISOString();
  if (Array.isArray(v)) return v.map(stringifyDates);
  if (v && typeof v === "object") {
    for (const k of Object.keys(v)) v[k] = stringifyDates(v[k]);
  }
  return v;
}

function describe(obj) {
  const kind = obj.kind ?? "?";
  const md = obj.metadata && typeof obj.metadata === "object" ? obj.metadata : {};
  const name = md.name ?? "?";
  return md.namespace ? `${kind}/${md.namespace}/${name}` : `${kind}/${name}`;
}

function formatErrors(err) {
  const errors = Array.isArray(err?.errors) ? err.errors : null;
  if (!errors || errors.length === 0) return String(err?.message ?? err);
  const seen = new Set();
  const parts = [];
  for (const e of errors) {
    let field = (e.instancePath || "").replace(/^\//, "").split("/").filter(Boolean).join(".");
    let msg = e.message ?? e.keyword;
    if (e.params?.allowedValues) msg += ` (${e.params.allowedValues.map((v) => JSON.stringify(v)).join(", ")})`;
    if (e.params?.additionalProperty !== undefined) msg += ` (${JSON.stringify(e.params.additionalProperty)})`;
    const line = field ? `${field}: ${msg}` : msg;
    if (!seen.has(line)) {
      seen.add(line);
      parts.push(line);
    }
  }
  return parts.join("; ");
}

/** Validate the given paths; returns counts and failure lines (does not print). */
export async function validatePaths(paths) {
  const { yaml, packageRoot } = loadDeps();
  const classes = await loadModels(packageRoot);
  const files = [];
  for (const p of paths) walk(p, files);

  const result = { checked: 0, failed: 0, skipped: 0, lines: [] };
  const fail = (line) => {
    result.failed += 1;
    result.lines.push(line);
  };
  const options = yaml.YAML11_SCHEMA ? { schema: yaml.YAML11_SCHEMA } : {};

  for (const file of files) {
    let docs;
    try {
      docs = yaml.loadAll(fs.readFileSync(file, "utf8"), null, { ...options, filename: file });
    } catch (e) {
      fail(`${file}: YAML: ${String(e.message).split("\n")[0]}`);
      continue;
    }
    const objects = [];
    for (const doc of docs) {
      if (doc === null || doc === undefined) continue;
      if (doc && typeof doc === "object" && !Array.isArray(doc) && doc.kind === "List" && Array.isArray(doc.items)) {
        objects.push(...doc.items);
      } else {
        objects.push(doc);
      }
    }
    for (const raw of objects) {
      if (!raw || typeof raw !== "object" || Array.isArray(raw)) {
        result.skipped += 1;
        continue;
      }
      const Model = classes[raw.apiVersion]?.[raw.kind];
      if (!Model) {
        result.skipped += 1;
        continue;
      }
      result.checked += 1;
      const obj = stringifyDates(structuredClone(raw));
      try {
        new Model(obj).validate();
      } catch (e) {
        fail(`${file}: ${describe(obj)}: ${formatErrors(e)}`);
      }
    }
  }
  return result;
}

const summary = (r) => `validate-models: ${r.checked} checked, ${r.failed} failed, ${r.skipped} skipped`;

async function selfTest() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "validate-models-"));
  try {
    const scaledObject = (name, min) => `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: ${name}
  namespace: team
spec:
  scaleTargetRef:
    name: ${name}-worker
  minReplicaCount: ${min}
  maxReplicaCount: 5
  triggers:
    - type: prometheus
      metadata:
        serverAddress: http://prometheus:9090
        query: sum(up)
        threshold: "1"
      authenticationRef:
        name: ${name}-worker
`;
    fs.writeFileSync(
      path.join(dir, "a.yaml"),
      [
        scaledObject("good", 1),
        `apiVersion: keda.sh/v1alpha1
kind: TriggerAuthentication
metadata: {name: good-worker, namespace: team}
spec:
  secretTargetRef:
    - {parameter: bearerToken, name: gateway, key: token}
`,
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: other}\n",
      ].join("---\n"),
    );
    fs.mkdirSync(path.join(dir, "sub"));
    fs.writeFileSync(
      path.join(dir, "sub", "b.yaml"),
      [
        scaledObject("bad", '"x"'),
        `apiVersion: karpenter.sh/v1
kind: NodePool
metadata: {name: worker-cpu}
spec:
  template:
    spec:
      nodeClassRef: {group: karpenter.k8s.aws, kind: EC2NodeClass, name: worker-cpu}
      requirements:
        - {key: kubernetes.io/arch, operator: In, values: [amd64]}
`,
        `apiVersion: karpenter.k8s.aws/v1
kind: EC2NodeClass
metadata: {name: worker-cpu}
spec:
  role: KarpenterNodeRole
  amiSelectorTerms: [{alias: al2023@latest}]
  subnetSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
  securityGroupSelectorTerms: [{tags: {karpenter.sh/discovery: demo}}]
`,
      ].join("---\n"),
    );
    fs.writeFileSync(path.join(dir, "ignored.txt"), "not: [yaml");
    const r = await validatePaths([dir]);
    const want = "validate-models: 5 checked, 1 failed, 1 skipped";
    const ok =
      summary(r) === want &&
      r.lines.length === 1 &&
      r.lines[0] === `${path.join(dir, "sub", "b.yaml")}: ScaledObject/team/bad: spec.minReplicaCount: must be integer`;
    if (!ok) {
      console.error(`validate-models self-test failed: want "${want}" and one minReplicaCount failure, got:`);
      for (const l of r.lines) console.error(l);
      console.error(summary(r));
      return 1;
    }
    console.log("validate-models self-test: ok");
    return 0;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

async function main(argv) {
  let require = false;
  const paths = [];
  let onlyPaths = false;
  for (const a of argv) {
    if (onlyPaths || !a.startsWith("-") || a === "-") {
      if (a === "-") throw new UsageError("stdin is not supported; pass files or directories");
      paths.push(a);
    } else if (a === "--") {
      onlyPaths = true;
    } else if (a === "--require") {
      require = true;
    } else if (a === "--self-test") {
      return selfTest();
    } else if (a === "-h" || a === "--help") {
      console.log("usage: node scripts/validate-models.mjs [--require] FILE_OR_DIR...\n       node scripts/validate-models.mjs --self-test");
      return 0;
    } else {
      throw new UsageError(`unknown option ${a}`);
    }
  }
  if (paths.length === 0) throw new UsageError("no files given");
  const r = await validatePaths(paths);
  for (const l of r.lines) console.log(l);
  console.log(summary(r));
  if (r.failed > 0) return 1;
  if (require && r.checked === 0) {
    console.error("validate-models: --require: no ScaledObject, TriggerAuthentication, NodePool or EC2NodeClass found");
    return 1;
  }
  return 0;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (e) => {
      if (e instanceof UsageError) {
        console.error(`validate-models: ${e.message}`);
        console.error("usage: node scripts/validate-models.mjs [--require] FILE_OR_DIR...");
        process.exitCode = 2;
      } else {
        console.error(e?.stack ?? String(e));
        process.exitCode = 2;
      }
    },
  );
}
