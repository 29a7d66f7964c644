// Schema check of deploy/k8s/*.yaml (issue 12): every object is validated
// against the Kubernetes API schema of its kind (npm kubernetes-models, the
// OpenAPI schemas of Kubernetes 1.27 compiled to JSON-schema validators:
// types, required fields, formats), then against what sealbid needs of them
// (an Indexed Job whose completions equal the manifest's shards, the Nitro
// Enclaves device plugin resource, a merge Job for the same shard count).
// kubernetes-models does not reject unknown fields (like `kubectl apply
// --validate=false`); the sealbid checks below name the fields they need.
//
// usage: node check.mjs FILE.yaml...   exit 0 when every file passes
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";
import { ConfigMap, Namespace, ServiceAccount } from "kubernetes-models/v1";
import { Job } from "kubernetes-models/batch/v1";

const models = {
  "v1/ConfigMap": ConfigMap,
  "v1/Namespace": Namespace,
  "v1/ServiceAccount": ServiceAccount,
  "batch/v1/Job": Job,
};
const errors = [];
const objects = [];

for (const file of process.argv.slice(2)) {
  let docs;
  try {
    docs = parseAllDocuments(readFileSync(file, "utf8"));
  } catch (e) {
    errors.push(`${file}: ${e.message}`);
    continue;
  }
  docs.forEach((doc, i) => {
    const where = `${file} document ${i + 1}`;
    if (doc.errors.length > 0) {
      errors.push(`${where}: YAML: ${doc.errors[0].message}`);
      return;
    }
    const obj = doc.toJS({ uniqueKeys: true });
    if (obj === null || typeof obj !== "object") {
      errors.push(`${where}: not an object`);
      return;
    }
    const Model = models[`${obj.apiVersion}/${obj.kind}`];
    if (Model === undefined) {
      errors.push(`${where}: ${obj.apiVersion} ${obj.kind} is not a kind sealbid deploys`);
      return;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      errors.push(`${where} (${obj.kind} ${obj.metadata?.name}): ${e.message}`);
      return;
    }
    objects.push({ where, obj });
  });
}

// What sealbid needs of the objects (they passed the schema).
const find = (kind, name) => objects.find((o) => o.obj.kind === kind && o.obj.metadata.name === name);
const need = (cond, msg) => { if (!cond) errors.push(msg); };
const cm = find("ConfigMap", "sealbid-job");
const shards = find("Job", "sealbid-shards");
const merge = find("Job", "sealbid-merge");
if (process.argv.length > 3) {
  need(cm && shards && merge, "expected ConfigMap sealbid-job, Jobs sealbid-shards and sealbid-merge");
}
let n = null;
if (cm) {
  try {
    n = JSON.parse(cm.obj.data["job.json"]).shards ?? 1;
  } catch (e) {
    errors.push(`${cm.where}: job.json: ${e.message}`);
  }
  for (const key of ["job.json", "measurements.json", "shard.sh", "merge.sh"])
    need(typeof cm.obj.data?.[key] === "string", `${cm.where}: data.${key} is missing`);
}
if (shards) {
  const s = shards.obj.spec, pod = s.template.spec, c = pod.containers[0];
  need(s.completionMode === "Indexed", `${shards.where}: spec.completionMode must be Indexed`);
  need(n === null || s.completions === n,
       `${shards.where}: spec.completions (${s.completions}) must be the manifest's shards (${n})`);
  need((s.parallelism ?? 1) <= s.completions, `${shards.where}: parallelism over completions`);
  need(pod.restartPolicy === "Never", `${shards.where}: restartPolicy must be Never`);
  for (const kind of ["limits", "requests"])
    need(c.resources?.[kind]?.["aws.ec2.nitro/nitro_enclaves"] === "1",
         `${shards.where}: resources.${kind} must ask for aws.ec2.nitro/nitro_enclaves: "1"`);
  need(c.resources?.limits?.["hugepages-2Mi"] || c.resources?.limits?.["hugepages-1Gi"],
       `${shards.where}: the enclave's memory comes from hugepages: set a hugepages limit`);
  need(cm === undefined || /JOB_COMPLETION_INDEX/.test(cm.obj.data["shard.sh"]) &&
       /--shard "\$K"/.test(cm.obj.data["shard.sh"]),
       `${shards.where}: shard.sh must pass JOB_COMPLETION_INDEX as --shard`);
}
if (merge) {
  const env = merge.obj.spec.template.spec.containers[0].env ?? [];
  const v = env.find((e) => e.name === "SHARDS")?.value;
  need(n === null || v === String(n), `${merge.where}: env SHARDS (${v}) must be the manifest's shards (${n})`);
}

if (errors.length > 0) {
  for (const e of errors) console.error(`k8s check: ${e}`);
  process.exit(1);
}
console.log(`k8s check: ${objects.length} objects valid (kubernetes-models ${JSON.parse(
  readFileSync(new URL("./node_modules/kubernetes-models/package.json", import.meta.url))).version})`);
