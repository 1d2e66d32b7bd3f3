// Checks of deploy/ that a cluster would otherwise find first.
//	node deploycheck.mjs order DIR	DIR as `kubectl apply -f DIR` takes it: the
//		files in kubectl's order (printed, one a line), every object valid, a
//		Namespace before anything in it, nothing apply -f cannot apply
//		(kustomizations, kinds that need a CRD, non-objects); and DIR's
//		Kustomization, if any, lists exactly those files in that order
//	node deploycheck.mjs version ROOT	VERSION, the images of deploy/k8s
//		(also under monitoring/), the Kustomization's images: and the
//		Dockerfile's WEFT_VERSION agree, and nothing says :latest
//	node deploycheck.mjs monitors ROOT	the PodMonitor, Service and
//		ServiceMonitor of deploy/k8s/monitoring select the DaemonSet's pods
//		and name its metrics port
//	node deploycheck.mjs objects FILE...	KIND NAMESPACE/NAME of each object
//	node deploycheck.mjs caps ROOT	weftd's added capabilities, as capsh
//		spells them (cap_x,cap_y)
//	node deploycheck.mjs script ROOT CONTAINER	the shell script an init
//		container runs (command: [/bin/sh, -ec, SCRIPT])
// Exit 0 when the check holds; 1 with the reasons on stderr.
import { readdirSync, readFileSync, statSync, existsSync } from "node:fs";
import { join } from "node:path";
import { documents, schemaError } from "./schema.mjs";

const IMAGE = "ghcr.io/weft-dev/weft";
// Kinds the API keeps outside namespaces (kubectl api-resources --namespaced=false).
const CLUSTER_SCOPED = new Set([
	"Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding",
	"CustomResourceDefinition", "APIService", "PriorityClass", "StorageClass",
	"CSIDriver", "CSINode", "VolumeAttachment", "RuntimeClass", "IngressClass",
	"MutatingWebhookConfiguration", "ValidatingWebhookConfiguration",
	"ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding",
	"CertificateSigningRequest", "FlowSchema", "PriorityLevelConfiguration",
]);
// Groups whose kinds exist only once a CRD is installed.
const CRD_GROUPS = new Set(["monitoring.coreos.com"]);
// Namespaces every cluster has.
const BUILTIN_NS = new Set(["default", "kube-system", "kube-public", "kube-node-lease"]);

let errors = 0;
function fail(msg) {
	console.error(msg);
	errors++;
}

// kubectl's FileVisitor for `-f DIR`: filepath.Walk (names in byte order),
// subdirectories skipped without -R, and only files whose extension is
// .json, .yaml or .yml, dotfiles included.
function applyFiles(dir) {
	const ext = (f) => (f.includes(".") ? f.slice(f.lastIndexOf(".")) : "");
	return readdirSync(dir)
		.sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
		.filter((f) => !statSync(join(dir, f)).isDirectory())
		.filter((f) => [".json", ".yaml", ".yml"].includes(ext(f)));
}

function objectsOf(file) {
	return documents(readFileSync(file, "utf8"));
}

async function order(dir) {
	const files = applyFiles(dir);
	const made = new Set();
	if (!files.length)
		fail(`${dir}: no file kubectl apply -f would take`);
	for (const f of files) {
		console.log(f);
		const docs = objectsOf(join(dir, f));
		if (!docs.length)
			fail(`${dir}/${f}: no object`);
		for (const { obj, error } of docs) {
			const where = obj?.kind ? `${dir}/${f}: ${obj.kind}/${obj.metadata?.name ?? "(no name)"}` : `${dir}/${f}`;
			if (error) {
				fail(`${where}: ${error}`);
				continue;
			}
			const group = String(obj.apiVersion).includes("/") ? obj.apiVersion.split("/")[0] : "";
			if (group.startsWith("kustomize.config.k8s.io")) {
				fail(`${where}: a kustomization: apply -f would send it to the API server; name it Kustomization (no extension)`);
				continue;
			}
			if (CRD_GROUPS.has(group)) {
				fail(`${where}: needs the ${group} CRDs, which a fresh cluster lacks: keep it in a folder of its own`);
				continue;
			}
			const err = await schemaError(obj);
			if (err) {
				fail(`${where}: ${err}`);
				continue;
			}
			if (obj.kind === "Namespace") {
				made.add(obj.metadata.name);
				continue;
			}
			if (CLUSTER_SCOPED.has(obj.kind))
				continue;
			const ns = obj.metadata?.namespace;
			if (!ns)
				fail(`${where}: no metadata.namespace: it would land in the current context's namespace`);
			else if (!made.has(ns) && !BUILTIN_NS.has(ns))
				fail(`${where}: namespace ${ns} is not created before it (kubectl applies files in name order)`);
		}
	}
	for (const name of ["kustomization.yaml", "kustomization.yml"])
		if (existsSync(join(dir, name)))
			fail(`${dir}/${name}: apply -f takes it too; name it Kustomization`);
	const kfile = join(dir, "Kustomization");
	if (existsSync(kfile)) {
		const [k] = objectsOf(kfile);
		const res = k?.obj?.resources ?? [];
		if (k?.error || JSON.stringify(res) !== JSON.stringify(files))
			fail(`${kfile}: resources ${JSON.stringify(res)} are not the files apply -f takes, in its order: ${JSON.stringify(files)}`);
	}
}

// Every container of every workload in the files, with where it is.
function containers(files) {
	const out = [];
	for (const file of files)
		for (const { obj } of objectsOf(file)) {
			const spec = obj?.spec?.template?.spec ?? (obj?.kind === "Pod" ? obj.spec : null);
			for (const c of [...(spec?.initContainers ?? []), ...(spec?.containers ?? [])])
				out.push({ where: `${file}: ${obj.kind}/${obj.metadata?.name}: ${c.name}`, c, obj });
		}
	return out;
}

function manifests(root) {
	const dir = join(root, "deploy/k8s");
	return [...applyFiles(dir).map((f) => join(dir, f)),
		...applyFiles(join(dir, "monitoring")).map((f) => join(dir, "monitoring", f))];
}

function version(root) {
	const v = readFileSync(join(root, "VERSION"), "utf8").trim();
	if (!/^\d+\.\d+\.\d+([-+][0-9A-Za-z.-]+)?$/.test(v))
		fail(`VERSION: '${v}' is not a semantic version`);
	const want = `${IMAGE}:${v}`;
	const cs = containers(manifests(root));
	if (!cs.length)
		fail("deploy/k8s: no container");
	for (const { where, c } of cs)
		if (c.image !== want)
			fail(`${where}: image ${c.image}, want ${want} (VERSION)`);
	const [k] = objectsOf(join(root, "deploy/k8s/Kustomization"));
	const img = (k?.obj?.images ?? []).find((i) => i.name === IMAGE);
	if (!img || String(img.newTag) !== v)
		fail(`deploy/k8s/Kustomization: images: ${IMAGE} newTag ${img?.newTag}, want ${v} (VERSION)`);
	const docker = readFileSync(join(root, "deploy/Dockerfile"), "utf8");
	const arg = docker.match(/^ARG WEFT_VERSION=(\S+)$/m);
	if (!arg || arg[1] !== v)
		fail(`deploy/Dockerfile: ARG WEFT_VERSION=${arg?.[1]}, want ${v} (VERSION)`);
	if (!/^LABEL[^\n]*org\.opencontainers\.image\.version=\$\{?WEFT_VERSION\}?/m.test(docker))
		fail("deploy/Dockerfile: no LABEL org.opencontainers.image.version=$WEFT_VERSION");
	for (const f of [...manifests(root), join(root, "deploy/Dockerfile"), join(root, "README.md")])
		if (/weft:latest/.test(readFileSync(f, "utf8")))
			fail(`${f}: names the image :latest`);
}

function matches(selector, labels) {
	const want = selector?.matchLabels ?? {};
	return Object.keys(want).length > 0 &&
		Object.entries(want).every(([k, val]) => labels?.[k] === val);
}

function monitors(root) {
	const all = manifests(root).flatMap((f) => objectsOf(f).map((d) => ({ ...d, file: f })));
	const find = (kind) => all.filter((d) => d.obj?.kind === kind);
	const ds = find("DaemonSet")[0]?.obj;
	const pod = ds?.spec?.template;
	const weftd = pod?.spec?.containers?.find((c) => c.name === "weftd");
	const port = weftd?.ports?.find((p) => p.name === "metrics");
	if (!port) {
		fail("deploy/k8s: no DaemonSet with a weftd container port named metrics");
		return;
	}
	const pm = find("PodMonitor");
	const svc = find("Service");
	const sm = find("ServiceMonitor");
	if (pm.length !== 1 || svc.length !== 1 || sm.length !== 1)
		fail(`deploy/k8s/monitoring: want one PodMonitor, one Service, one ServiceMonitor; have ${pm.length}, ${svc.length}, ${sm.length}`);
	for (const { obj, file } of [...pm, ...svc, ...sm])
		if (obj.metadata?.namespace !== ds.metadata.namespace)
			fail(`${file}: ${obj.kind}/${obj.metadata?.name}: namespace ${obj.metadata?.namespace}, want the DaemonSet's (${ds.metadata.namespace})`);
	for (const { obj, file } of pm) {
		if (!matches(obj.spec?.selector, pod.metadata?.labels))
			fail(`${file}: PodMonitor/${obj.metadata.name}: its selector does not select the weftd pods`);
		for (const e of obj.spec?.podMetricsEndpoints ?? [])
			if (e.port !== port.name || (e.path ?? "/metrics") !== "/metrics")
				fail(`${file}: PodMonitor/${obj.metadata.name}: endpoint ${e.port} ${e.path}, want port ${port.name} /metrics`);
	}
	for (const { obj, file } of svc) {
		if (!obj.spec?.selector || !Object.entries(obj.spec.selector).every(([k, v]) => pod.metadata?.labels?.[k] === v))
			fail(`${file}: Service/${obj.metadata.name}: its selector does not select the weftd pods`);
		if (obj.spec?.clusterIP !== "None")
			fail(`${file}: Service/${obj.metadata.name}: not headless (clusterIP: None): weft would give it a VIP`);
		const p = obj.spec?.ports?.find((q) => q.name === "metrics");
		if (!p || (p.targetPort !== port.name && p.targetPort !== port.containerPort))
			fail(`${file}: Service/${obj.metadata.name}: no port metrics targeting the container's`);
		for (const m of sm) {
			if (!matches(m.obj.spec?.selector, obj.metadata?.labels))
				fail(`${m.file}: ServiceMonitor/${m.obj.metadata.name}: its selector does not select Service/${obj.metadata.name}`);
			for (const e of m.obj.spec?.endpoints ?? [])
				if (e.port !== "metrics" || (e.path ?? "/metrics") !== "/metrics")
					fail(`${m.file}: ServiceMonitor/${m.obj.metadata.name}: endpoint ${e.port} ${e.path}, want port metrics /metrics`);
		}
	}
}

function weftdContainer(root, name) {
	return containers(manifests(root)).find(({ c, obj }) => obj.kind === "DaemonSet" && c.name === name)?.c;
}

const [cmd, arg, extra] = process.argv.slice(2);
if (cmd === "order" && arg)
	await order(arg);
else if (cmd === "version" && arg)
	version(arg);
else if (cmd === "monitors" && arg)
	monitors(arg);
else if (cmd === "objects" && arg) {
	for (const file of process.argv.slice(3))
		for (const { obj, error } of objectsOf(file))
			if (error)
				fail(`${file}: ${error}`);
			else
				console.log(`${obj.kind} ${obj.metadata?.namespace ?? ""}/${obj.metadata?.name}`);
} else if (cmd === "caps" && arg) {
	const add = weftdContainer(arg, "weftd")?.securityContext?.capabilities?.add ?? [];
	if (!add.length)
		fail("deploy/k8s: weftd adds no capability");
	console.log(add.map((c) => `cap_${c.toLowerCase()}`).join(","));
} else if (cmd === "script" && arg && extra) {
	const c = weftdContainer(arg, extra);
	if (c?.command?.[0] !== "/bin/sh" || c.command.length !== 3)
		fail(`deploy/k8s: no container ${extra} running /bin/sh -ec SCRIPT`);
	else
		process.stdout.write(c.command[2]);
} else {
	console.error("usage: deploycheck.mjs order DIR | version ROOT | monitors ROOT | objects FILE... | caps ROOT | script ROOT CONTAINER");
	process.exit(2);
}
process.exit(errors ? 1 : 0);
