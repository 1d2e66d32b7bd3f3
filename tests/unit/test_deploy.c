// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * Unit tests of deploy/: the manifests as kubectl and kustomize take them,
 * against the API's schemas (tests/k8s: kubernetes-models and the
 * prometheus-operator's CRD models, pinned in package-lock.json), and the one
 * release number they, the image and the binaries share. Each check also
 * runs on a broken copy that it must reject, so none passes vacuously. Runs
 * from the repository root.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "lib/version.h"
#include "model/model.h"
#include "source/file.h"
#include "serve/metrics.h"
#include "testenv.h"

#define CHECK "node tests/k8s/deploycheck.mjs"

/* node and the pinned packages, or a skip naming what is missing. */
static bool need_node(void)
{
	char out[4096];

	if (tenv_capture(out, sizeof(out), "command -v node"))
		SKIP("node is not installed (make deps installs nodejs)");
	if (!ASSERT_OK(access("deploy/k8s/30-daemonset.yaml", R_OK), "run from the repository root"))
		return false;
	if (access("tests/k8s/node_modules/kubernetes-models", R_OK) ||
	    access("tests/k8s/node_modules/@kubernetes-models/prometheus-operator", R_OK))
		return ASSERT_OK(tenv_capture(out, sizeof(out),
					      "cd tests/k8s && npm ci --no-audit --no-fund --loglevel=error 2>&1"),
				 out);
	return true;
}

/* A copy of what the checks read (deploy/, VERSION, README.md) under the
 * test's directory, to break: its path. */
static const char *copy_tree(void)
{
	static char dir[128];

	snprintf(dir, sizeof(dir), "%s/tree", tenv_dir());
	if (tenv_sh("rm -rf %s && mkdir -p %s && cp -r deploy VERSION README.md %s/", dir, dir, dir))
		return NULL;
	return dir;
}

TEST_TIMEOUT(unit, k8s_manifests_validate_against_the_api_schemas, 120)
{
	char out[4096];

	if (!need_node())
		return;
	ASSERT_OK(tenv_capture(out, sizeof(out),
			       "node tests/k8s/validate.mjs deploy/k8s/*.yaml deploy/k8s/monitoring/*.yaml 2>&1"),
		  out);
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "f=$(mktemp) && sed 's/^      hostNetwork: true/      hostNetwork: yes-please/' "
			       "deploy/k8s/30-daemonset.yaml > $f && node tests/k8s/validate.mjs $f 2>&1; "
			       "r=$?; rm -f $f; exit $r"), 1, "a broken DaemonSet is rejected");
	ASSERT_TRUE(strstr(out, "hostNetwork") != NULL, out);
	/* The CRD's schema, not only the built-in ones: a port is a name. */
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "f=$(mktemp) && sed 's/^    - port: metrics/    - port: 9465/' "
			       "deploy/k8s/monitoring/servicemonitor.yaml > $f && node tests/k8s/validate.mjs $f 2>&1; "
			       "r=$?; rm -f $f; exit $r"), 1, "a broken ServiceMonitor is rejected");
	ASSERT_TRUE(strstr(out, "ServiceMonitor/weftd") && strstr(out, "port"), out);
}

/* The ConfigMap's weft.yaml is a valid config for --kubernetes. */
TEST(unit, k8s_configmap_weft_yaml_parses)
{
	char out[4096], err[512];
	struct weft_model *cfg;

	if (!ASSERT_OK(tenv_capture(out, sizeof(out),
				    "sed -n '/weft.yaml: |/,$p' deploy/k8s/20-configmap.yaml | tail -n +2 | "
				    "sed 's/^    //'"), "extract weft.yaml"))
		return;
	cfg = weft_file_parse(out, strlen(out), "20-configmap.yaml", err, sizeof(err));
	if (!ASSERT_NOT_NULL(cfg, err))
		return;
	ASSERT_EQ(cfg->nservices + cfg->nendpoints, 0, "no services or endpoints");
	ASSERT_STR(cfg->datapath.bpffs, "/sys/fs/bpf/weft", "bpffs");
	ASSERT_STR(cfg->datapath.cgroup, "/run/weft/cgroupv2", "the init container's cgroup v2 mount");
	ASSERT_STR(cfg->metrics.listen, "0.0.0.0:9465", "metrics on the probes' port");
	weft_model_free(cfg);
}

/* deploy/k8s as `kubectl apply -f` walks it: the Namespace first, every file
 * a valid object, nothing it cannot apply. Then copies that break each rule. */
TEST_TIMEOUT(unit, k8s_manifests_apply_in_name_order, 120)
{
	char out[4096];
	const char *t;

	if (!need_node())
		return;
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), CHECK " order deploy/k8s 2>&1"), out))
		return;
	ASSERT_STR(out, "00-namespace.yaml\n10-rbac.yaml\n20-configmap.yaml\n30-daemonset.yaml\n",
		   "kubectl's order: the Namespace first; Kustomization and monitoring/ skipped");
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	/* Files kubectl skips change nothing: no extension, another one. */
	ASSERT_OK(tenv_capture(out, sizeof(out), "echo notes > %s/deploy/k8s/NOTES.txt && "
			       CHECK " order %s/deploy/k8s 2>&1", t, t), out);
	/* The Namespace after what lives in it. */
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "cd %s/deploy/k8s && mv 00-namespace.yaml 99-namespace.yaml && rm Kustomization && "
			       "cd - >/dev/null && " CHECK " order %s/deploy/k8s 2>&1", t, t), 1,
		  "the Namespace last is refused");
	ASSERT_TRUE(strstr(out, "ServiceAccount/weftd: namespace weft-system is not created before it") &&
		    strstr(out, "DaemonSet/weftd: namespace weft-system is not created before it"), out);
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "cp %s/deploy/k8s/Kustomization %s/deploy/k8s/kustomization.yaml && "
			       CHECK " order %s/deploy/k8s 2>&1", t, t, t), 1, "a kustomization.yaml is refused");
	ASSERT_TRUE(strstr(out, "kustomization.yaml: Kustomization/(no name): a kustomization") != NULL, out);
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "cp %s/deploy/k8s/monitoring/podmonitor.yaml %s/deploy/k8s/40-pm.yaml && "
			       CHECK " order %s/deploy/k8s 2>&1", t, t, t), 1, "a CRD's kind is refused");
	ASSERT_TRUE(strstr(out, "PodMonitor/weftd: needs the monitoring.coreos.com CRDs") != NULL, out);
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "cp %s/deploy/weft.yaml %s/deploy/k8s/40-weft.yml && "
			       CHECK " order %s/deploy/k8s 2>&1", t, t, t), 1, "a file that is no object is refused");
	ASSERT_TRUE(strstr(out, "40-weft.yml: no apiVersion or kind: not a Kubernetes object") != NULL, out);
}

/* The Kustomization lists exactly the files apply -f takes, in its order. */
TEST_TIMEOUT(unit, k8s_kustomization_lists_the_folder, 60)
{
	char out[4096];
	const char *t;

	if (!need_node() || !ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out), "sed -i '/- 20-configmap.yaml/d' %s/deploy/k8s/Kustomization && "
			       CHECK " order %s/deploy/k8s 2>&1", t, t), 1, "a file missing from resources");
	ASSERT_TRUE(strstr(out, "are not the files apply -f takes") != NULL, out);
}

/* kustomize itself (kubectl's) renders deploy/k8s: valid objects, the same
 * ones apply -f creates, with the image of VERSION. */
TEST_TIMEOUT(unit, k8s_kustomization_renders_with_kubectl, 120)
{
	char out[8192], render[256], want[256], got[256];

	if (!need_node())
		return;
	if (tenv_capture(out, sizeof(out), "command -v kubectl"))
		SKIP("kubectl is not installed (make deps installs Debian's kubernetes-client)");
	snprintf(render, sizeof(render), "%s/rendered.yaml", tenv_dir());
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "kubectl kustomize deploy/k8s > %s 2>&1 || cat %s",
				    render, render), out))
		return;
	ASSERT_OK(tenv_capture(out, sizeof(out), "node tests/k8s/validate.mjs %s 2>&1", render), out);
	snprintf(want, sizeof(want), "%s/want", tenv_dir());
	snprintf(got, sizeof(got), "%s/got", tenv_dir());
	ASSERT_OK(tenv_capture(out, sizeof(out),
			       CHECK " objects deploy/k8s/[0-9]*.yaml | sort > %s && "
			       CHECK " objects %s | sort > %s && diff %s %s 2>&1", want, render, got, want, got),
		  out);
	ASSERT_OK(tenv_capture(out, sizeof(out), "wc -l < %s", want), "count the objects");
	ASSERT_EQ(atoi(out), 6, "Namespace, ServiceAccount, ClusterRole, ClusterRoleBinding, ConfigMap, DaemonSet");
	ASSERT_OK(tenv_capture(out, sizeof(out),
			       "n=$(grep -c \"image: ghcr.io/weft-dev/weft:$(cat VERSION)$\" %s); "
			       "m=$(grep -c 'image:' %s); echo $n $m; [ $n = 2 ] && [ $m = 2 ]", render, render),
		  out);
}

/* One release number: VERSION is what the binaries report (the Makefile
 * passes it), what the manifests and the Kustomization pull, and the
 * image's label; nothing says :latest. */
TEST_TIMEOUT(unit, version_is_one_source, 60)
{
	char out[4096], v[64] = "";
	const char *t;
	FILE *f = fopen("VERSION", "r");

	if (!ASSERT_NOT_NULL(f, "VERSION at the repository root"))
		return;
	if (!fgets(v, sizeof(v), f))
		v[0] = 0;
	fclose(f);
	v[strcspn(v, "\n")] = 0;
	/* git describe adds where the tree is: "0.3.0-gabc1234", "v0.3.0-4-g..." */
	ASSERT_TRUE(v[0] && (!strncmp(weft_version(), v, strlen(v)) ||
			     (weft_version()[0] == 'v' && !strncmp(weft_version() + 1, v, strlen(v)))),
		    "the binaries' version starts with VERSION");
	if (!need_node())
		return;
	ASSERT_OK(tenv_capture(out, sizeof(out), CHECK " version . 2>&1"), out);
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "sed -i '0,/weft:%s/s//weft:0.0.9/' %s/deploy/k8s/30-daemonset.yaml && "
			       "sed -i 's/^ARG WEFT_VERSION=.*/ARG WEFT_VERSION=0.0.8/' %s/deploy/Dockerfile && "
			       "sed -i 's/newTag: .*/newTag: \"0.0.7\"/' %s/deploy/k8s/Kustomization && "
			       "echo 'docker pull ghcr.io/weft-dev/weft:latest' >> %s/README.md && "
			       CHECK " version %s 2>&1", v, t, t, t, t, t),
		  1, "every disagreement is found");
	ASSERT_TRUE(strstr(out, "DaemonSet/weftd: mounts: image ghcr.io/weft-dev/weft:0.0.9"), out);
	ASSERT_TRUE(strstr(out, "Dockerfile: ARG WEFT_VERSION=0.0.8"), out);
	ASSERT_TRUE(strstr(out, "Kustomization: images: ghcr.io/weft-dev/weft newTag 0.0.7"), out);
	ASSERT_TRUE(strstr(out, "README.md: names the image :latest"), out);
}

/* The prometheus-operator objects find the weftd pods and their port. */
TEST_TIMEOUT(unit, k8s_monitors_select_the_weftd_pods, 60)
{
	char out[4096];
	const char *t;

	if (!need_node())
		return;
	ASSERT_OK(tenv_capture(out, sizeof(out), CHECK " monitors . 2>&1"), out);
	if (!ASSERT_NOT_NULL(t = copy_tree(), "copy deploy/"))
		return;
	ASSERT_EQ(tenv_capture(out, sizeof(out),
			       "sed -i 's/- port: metrics/- port: http/' %s/deploy/k8s/monitoring/podmonitor.yaml && "
			       "sed -i '/^  selector:/,/^  ports:/s/component: agent/component: nothing/' "
			       "%s/deploy/k8s/monitoring/servicemonitor.yaml && " CHECK " monitors %s 2>&1", t, t, t),
		  1, "a wrong port and a wrong selector are found");
	ASSERT_TRUE(strstr(out, "PodMonitor/weftd: endpoint http"), out);
	ASSERT_TRUE(strstr(out, "Service/weftd-metrics: its selector does not select the weftd pods"), out);
}
