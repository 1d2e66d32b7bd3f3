// Validate Kubernetes manifests against the API's OpenAPI schemas (schema.mjs:
// kubernetes-models and, for the prometheus-operator's kinds, its CRD models).
//	node validate.mjs FILE...	(- reads standard input, e.g. kustomize's output)
//	exit 0: all valid; 1: errors on stderr
import { readFileSync } from "node:fs";
import { documents, schemaError } from "./schema.mjs";

let bad = 0, n = 0;
for (const file of process.argv.slice(2)) {
	const text = readFileSync(file === "-" ? 0 : file, "utf8");
	for (const { obj, error } of documents(text)) {
		const where = obj ? `${file}: ${obj.kind}/${obj.metadata?.name}` : file;
		const err = error ?? await schemaError(obj);
		n++;
		if (err) {
			console.error(`${where}: ${err}`);
			bad++;
		}
	}
}
if (!n) {
	console.error("no objects");
	bad++;
}
process.exit(bad ? 1 : 0);
