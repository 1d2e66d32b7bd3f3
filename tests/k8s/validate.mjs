// Validate Kubernetes manifests against the API's OpenAPI schemas, using the
// kubernetes-models package (its models carry the schemas, checked by ajv).
//	node validate.mjs FILE...	exit 0: all valid; 1: errors on stderr
import { readFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

let bad = 0;
for (const file of process.argv.slice(2)) {
	for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
		if (doc.errors.length) {
			console.error(`${file}: ${doc.errors[0].message}`);
			bad++;
			continue;
		}
		const obj = doc.toJS();
		if (obj === null)
			continue;
		const where = `${file}: ${obj.kind}/${obj.metadata?.name}`;
		const [group, version] = String(obj.apiVersion).includes("/")
			? obj.apiVersion.split("/") : [null, obj.apiVersion];
		const mod = `kubernetes-models/${group ? group + "/" : ""}${version}/${obj.kind}`;
		let Model;
		try {
			Model = (await import(mod))[obj.kind];
		} catch {
			console.error(`${where}: no schema for ${obj.apiVersion} ${obj.kind}`);
			bad++;
			continue;
		}
		try {
			new Model(obj).validate();
		} catch (e) {
			console.error(`${where}: ${e.message}`);
			bad++;
		}
	}
}
process.exit(bad ? 1 : 0);
