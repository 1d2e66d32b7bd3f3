// The API's schema for one object: kubernetes-models for the built-in groups,
// @kubernetes-models/prometheus-operator for monitoring.coreos.com (the
// operator's CRDs, generated from them). Resolves to an error message, or
// null when the object is valid.
import { parseAllDocuments } from "yaml";

const groups = {
	"monitoring.coreos.com": "@kubernetes-models/prometheus-operator/monitoring.coreos.com",
};

export async function schemaError(obj) {
	if (!obj || typeof obj !== "object" || Array.isArray(obj))
		return "not an object";
	if (typeof obj.apiVersion !== "string" || typeof obj.kind !== "string")
		return "no apiVersion or kind: not a Kubernetes object";
	const [group, version] = obj.apiVersion.includes("/")
		? obj.apiVersion.split("/") : [null, obj.apiVersion];
	const base = group ? groups[group] ?? `kubernetes-models/${group}` : "kubernetes-models";
	let Model;
	try {
		Model = (await import(`${base}/${version}/${obj.kind}`))[obj.kind];
	} catch {
		return `no schema for ${obj.apiVersion} ${obj.kind}`;
	}
	if (!Model)
		return `no schema for ${obj.apiVersion} ${obj.kind}`;
	try {
		new Model(obj).validate();
	} catch (e) {
		return e.message;
	}
	return null;
}

// Every YAML document of a text, as {obj, error}; empty documents dropped.
export function documents(text) {
	const out = [];
	for (const doc of parseAllDocuments(text)) {
		if (doc.errors.length) {
			out.push({ obj: null, error: doc.errors[0].message });
			continue;
		}
		const obj = doc.toJS();
		if (obj !== null && obj !== undefined)
			out.push({ obj, error: null });
	}
	return out;
}
