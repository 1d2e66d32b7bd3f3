// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * The bench's SMP documents: tests/bench/report.py --smp turns a small
 * results.json into one document per measured scenario, shaped as the
 * Service Mesh Performance spec's PerformanceTestResult (proto3 JSON
 * names), with the ServiceMeshConfig and EnvironmentConfig it names by id.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "harness.h"
#include "testenv.h"

#define REPORT "tests/bench/report.py"

static const char fixture[] =
	"{\"smp_version\": \"v0.0.1\",\n"
	" \"environment\": {\"kernel\": \"6.18.0\", \"nproc\": 2, \"cpu_model\": \"Test CPU\", \"date\": \"2026-12-02\", \"reps\": 3, \"quick\": false, \"commit\": \"abc123\"},\n"
	" \"results\": [\n"
	"  {\"start_time\": \"2026-12-02T10:00:00.000+00:00\", \"end_time\": \"2026-12-02T10:00:10.000+00:00\",\n"
	"   \"latencies_ms\": {\"min\": 0.01, \"average\": 0.02, \"p50\": 0.02, \"p90\": 0.03, \"p99\": 0.05, \"max\": 0.4},\n"
	"   \"actual_qps\": 41000.5,\n"
	"   \"labels\": {\"scenario\": \"weft\", \"tool\": \"wrk -t1 -c1\", \"test\": \"wrk1\", \"placement\": \"one-cpu\", \"payload_bytes\": 64, \"kernel\": \"6.18.0\", \"connections\": 1, \"repetitions\": \"3\"}},\n"
	"  {\"start_time\": \"2026-12-02T10:01:00.000+00:00\", \"end_time\": \"2026-12-02T10:01:10.000+00:00\",\n"
	"   \"latencies_ms\": {\"min\": 0.01, \"average\": 0.02, \"p50\": 0.02, \"p90\": 0.03, \"p99\": null, \"max\": 0.4},\n"
	"   \"actual_qps\": 50000,\n"
	"   \"labels\": {\"scenario\": \"no-mesh\", \"tool\": \"wrk -t1 -c1\", \"test\": \"wrk1\", \"placement\": \"one-cpu\", \"payload_bytes\": null, \"kernel\": \"6.18.0\", \"connections\": 1, \"repetitions\": \"3\"}},\n"
	"  {\"labels\": {\"scenario\": \"sidecar\", \"kernel\": \"6.18.0\"}, \"status\": \"not-available\", \"reason\": \"no haproxy\"}\n"
	" ]}\n"
;

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return o && json_object_object_get_ex(o, k, &v) ? v : NULL;
}

static const char *str(struct json_object *o, const char *k)
{
	struct json_object *v = get(o, k);

	return v && json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

/* A non-empty string member. */
static bool has_str(struct json_object *o, const char *k)
{
	const char *s = str(o, k);

	return s && *s;
}

static bool is_num(struct json_object *v)
{
	return v && (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
}

/* SMP labels: map<string, string>. */
static bool string_map(struct json_object *o)
{
	if (!o || !json_object_is_type(o, json_type_object))
		return false;
	json_object_object_foreach(o, k, v) {
		(void)k;
		if (!json_object_is_type(v, json_type_string))
			return false;
	}
	return true;
}

/* One scenario's document; its results' count into *n. */
static void check_doc(struct json_object *d, const char *scenario, const char *build, int *n)
{
	struct json_object *mesh = get(d, "meshConfig"), *env = get(d, "envConfig"), *res = get(d, "results");

	ASSERT_TRUE(has_str(d, "smpVersion"), "smpVersion");
	ASSERT_TRUE(has_str(mesh, "id") && string_map(get(mesh, "labels")), "meshConfig: id, labels");
	ASSERT_STR(str(get(mesh, "labels"), "scenario") ?: "", scenario, "meshConfig scenario");
	ASSERT_STR(str(mesh, "meshBuild") ?: "?", build, "meshBuild: the weft commit for weft");
	ASSERT_TRUE(has_str(env, "id") && string_map(get(env, "labels")), "envConfig: id, labels");
	ASSERT_TRUE(get(env, "node") && json_object_array_length(get(env, "node")) == 1, "envConfig node");
	*n = res && json_object_is_type(res, json_type_array) ? (int)json_object_array_length(res) : -1;
	for (int i = 0; i < *n; i++) {
		struct json_object *r = json_object_array_get_idx(res, i), *lat = get(r, "latenciesMs");
		static const char *const ids[] = { "smpVersion", "id", "testId", "meshConfigId", "envId",
						   "startTime", "endTime", "detailsUri" };

		for (size_t k = 0; k < sizeof(ids) / sizeof(ids[0]); k++)
			ASSERT_TRUE(has_str(r, ids[k]), ids[k]);
		ASSERT_STR(str(r, "meshConfigId") ?: "", str(mesh, "id") ?: "?", "names its mesh config");
		ASSERT_STR(str(r, "envId") ?: "", str(env, "id") ?: "?", "names its environment");
		ASSERT_TRUE(string_map(get(r, "labels")), "labels are strings");
		ASSERT_STR(str(get(r, "labels"), "weft_commit") ?: "", "abc123", "the weft commit");
		ASSERT_STR(str(get(r, "labels"), "connections") ?: "", "1", "a number label as text");
		ASSERT_TRUE(is_num(get(r, "actualQPS")), "actualQPS is a number");
		ASSERT_TRUE(!get(r, "actual_qps"), "proto3 JSON names only");
		ASSERT_TRUE(lat && is_num(get(lat, "p50")) && is_num(get(lat, "max")), "latenciesMs");
	}
}

TEST(unit, bench_report_writes_smp_documents)
{
	char dir[512], path[600], out[4096], cwd[512];
	struct json_object *d;
	int n = 0;

	if (access(REPORT, R_OK) != 0)
		SKIP(REPORT ": not found from %s", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	if (system("command -v python3 >/dev/null 2>&1") != 0)
		SKIP("python3 not installed (make deps installs it)");
	snprintf(dir, sizeof(dir), "%s/bench", tenv_dir());
	snprintf(path, sizeof(path), "%s/results.json", dir);
	if (!ASSERT_OK(tenv_sh("mkdir -p %s", dir), "dir") ||
	    !ASSERT_OK(tenv_write_file(path, fixture), "fixture results.json"))
		return;
	if (!ASSERT_OK(tenv_capture(out, sizeof(out), "python3 " REPORT " --smp %s 2>&1", dir), out))
		return;
	snprintf(path, sizeof(path), "%s/smp/weft.json", dir);
	d = json_object_from_file(path);
	if (ASSERT_NOT_NULL(d, "smp/weft.json parses")) {
		check_doc(d, "weft", "abc123", &n);
		ASSERT_EQ(n, 1, "weft's one result");
		ASSERT_TRUE(json_object_get_double(get(json_object_array_get_idx(get(d, "results"), 0),
						       "actualQPS")) == 41000.5, "actualQPS carried");
	}
	json_object_put(d);
	snprintf(path, sizeof(path), "%s/smp/no-mesh.json", dir);
	d = json_object_from_file(path);
	if (ASSERT_NOT_NULL(d, "smp/no-mesh.json parses")) {
		check_doc(d, "no-mesh", "", &n);
		ASSERT_EQ(n, 1, "no-mesh's one result");
		ASSERT_TRUE(!get(get(json_object_array_get_idx(get(d, "results"), 0), "latenciesMs"), "p99"),
			    "an unmeasured percentile is left out, not null");
	}
	json_object_put(d);
	snprintf(path, sizeof(path), "%s/smp/sidecar.json", dir);
	ASSERT_TRUE(access(path, F_OK) != 0, "no document for a scenario not measured");
}
