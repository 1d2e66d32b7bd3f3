// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * deploy/grafana/weft.json, the Grafana dashboard: parsed with json-c and
 * checked for the structure Grafana 10 imports (a ${DS_PROMETHEUS} input and
 * variable, templated namespace and service, panels with targets and grid
 * positions, unique ids), that every query names only metrics weft serves
 * (the list below, from issue 5 and agent/serve/metrics.c: a typo fails), and
 * that the panels the issue asks for are there.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "harness.h"

#define DASHBOARD "deploy/grafana/weft.json"

/* Every metric name weft exposes (or will: obs and pol add the tcp, flow and
 * policy families), the only names a query may use. */
static const char *const metrics[] = {
	"weft_tcp_connections_opened_total", "weft_tcp_connections_closed_total",
	"weft_tcp_connections_failed_total", "weft_tcp_connections_reset_total",
	"weft_tcp_received_bytes_total", "weft_tcp_sent_bytes_total",
	"weft_tcp_connections_active",
	"weft_tcp_rtt_seconds_bucket", "weft_tcp_rtt_seconds_sum", "weft_tcp_rtt_seconds_count",
	"weft_tcp_connect_duration_seconds_bucket", "weft_tcp_connect_duration_seconds_sum",
	"weft_tcp_connect_duration_seconds_count",
	"weft_flows",
	"weft_policy_decisions_total",
	/* agent/serve/metrics.c */
	"weft_build_info", "weft_config_generation", "weft_config_last_apply_timestamp_seconds",
	"weft_services", "weft_service_ports", "weft_datapath_events_total",
	"weft_service_connections_total", "weft_service_datagrams_total",
	"weft_service_refused_total", "weft_backend_connections_total",
	"weft_backend_datagrams_total", "weft_map_entries", "weft_map_capacity",
	"weft_program_attached",
};
#define NMETRICS (sizeof(metrics) / sizeof(metrics[0]))

static int metric_index(const char *name)
{
	for (size_t i = 0; i < NMETRICS; i++)
		if (!strcmp(metrics[i], name))
			return (int)i;
	return -1;
}

static const char *str(struct json_object *o, const char *key)
{
	struct json_object *v;

	return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string) ?
		       json_object_get_string(v) : NULL;
}

static struct json_object *get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* Whether every weft_* name in expr is in the list; marks the ones used and
 * copies the first unknown one into bad. */
static bool expr_names_known(const char *expr, bool *used, char *bad, size_t badlen)
{
	bool ok = true;

	for (const char *p = expr; (p = strstr(p, "weft_"));) {
		char name[128];
		size_t n = 0;
		int i;

		if (p > expr && (isalnum((unsigned char)p[-1]) || p[-1] == '_')) {
			p++;
			continue;
		}
		while ((isalnum((unsigned char)p[n]) || p[n] == '_') && n + 1 < sizeof(name)) {
			name[n] = p[n];
			n++;
		}
		name[n] = 0;
		p += n;
		i = metric_index(name);
		if (i >= 0) {
			used[i] = true;
		} else if (ok) {
			snprintf(bad, badlen, "%s", name);
			ok = false;
		}
	}
	return ok;
}

/* Occurrences of needle in s. */
static int occurrences(const char *s, const char *needle)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* Every metric selector of expr is scoped to $cluster and $node: as many
 * weft_ names as scopes. */
static bool scoped(const char *expr)
{
	int names = 0;

	for (const char *p = expr; (p = strstr(p, "weft_")); p += 5)
		names += p == expr || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
	return names > 0 && occurrences(expr, "cluster=~\"$cluster\",node=~\"$node\"") == names;
}

TEST(unit, dashboard_is_grafana_json_using_only_weft_metrics)
{
	struct json_object *d, *panels, *vars, *inputs;
	bool used[NMETRICS] = { false }, ids[1024] = { false };
	bool has_ns = false, has_svc = false, has_ds = false, has_cluster = false, has_node = false;
	size_t nqueries = 0, npanels = 0;
	char cwd[512], bad[128];

	if (access(DASHBOARD, R_OK) != 0)
		SKIP(DASHBOARD ": not found from %s", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	d = json_object_from_file(DASHBOARD);
	if (!ASSERT_NOT_NULL(d, "the dashboard parses as JSON"))
		return;
	ASSERT_TRUE(str(d, "title") && str(d, "uid"), "title and uid");
	ASSERT_GE(json_object_get_int(get(d, "schemaVersion")), 36, "Grafana 10 schema");
	inputs = get(d, "__inputs");
	ASSERT_TRUE(inputs && json_object_array_length(inputs) == 1 &&
		    !strcmp(str(json_object_array_get_idx(inputs, 0), "name") ?: "", "DS_PROMETHEUS") &&
		    !strcmp(str(json_object_array_get_idx(inputs, 0), "pluginId") ?: "", "prometheus"),
		    "one import input, DS_PROMETHEUS, a Prometheus data source");
	vars = get(get(d, "templating"), "list");
	for (size_t i = 0; vars && i < json_object_array_length(vars); i++) {
		struct json_object *v = json_object_array_get_idx(vars, i);
		const char *name = str(v, "name") ?: "", *type = str(v, "type") ?: "";
		struct json_object *q = get(v, "query");
		const char *qs = q && json_object_is_type(q, json_type_object) ? str(q, "query")
				 : q ? json_object_get_string(q) : NULL;

		if (!strcmp(name, "DS_PROMETHEUS"))
			has_ds = !strcmp(type, "datasource") && qs && !strcmp(qs, "prometheus");
		if (!strcmp(name, "cluster"))
			has_cluster = !strcmp(type, "query") && qs && strstr(qs, "label_values(") &&
				      strstr(qs, ", cluster)") && !strcmp(str(v, "allValue") ?: "", ".*");
		if (!strcmp(name, "node"))
			has_node = !strcmp(type, "query") && qs && strstr(qs, ", node)") &&
				   strstr(qs, "$cluster") && !strcmp(str(v, "allValue") ?: "", ".*");
		if (qs && !strcmp(type, "query") && strcmp(name, "cluster") && strcmp(name, "node"))
			ASSERT_TRUE(scoped(qs), qs);
		if (!strcmp(name, "namespace"))
			has_ns = !strcmp(type, "query") && qs && strstr(qs, "label_values(") &&
				 strstr(qs, "destination_service_namespace");
		if (!strcmp(name, "service"))
			has_svc = !strcmp(type, "query") && qs && strstr(qs, "destination_service_name") &&
				  strstr(qs, "$namespace");
		if (qs && !strcmp(type, "query"))
			ASSERT_TRUE(expr_names_known(qs, used, bad, sizeof(bad)), bad);
	}
	ASSERT_TRUE(has_ds, "a DS_PROMETHEUS data source variable");
	/* cluster: an external label of the Prometheus; node: the relabeling
	 * of deploy/k8s/monitoring/. All (.*) also matches a missing label. */
	ASSERT_TRUE(has_cluster, "a cluster variable from the metrics' labels, All = .*");
	ASSERT_TRUE(has_node, "a node variable within $cluster, All = .*");
	ASSERT_TRUE(has_ns, "a namespace variable from the metrics' labels");
	ASSERT_TRUE(has_svc, "a service variable within $namespace");
	panels = get(d, "panels");
	if (!ASSERT_TRUE(panels && json_object_is_type(panels, json_type_array), "panels"))
		goto out;
	for (size_t i = 0; i < json_object_array_length(panels); i++) {
		struct json_object *p = json_object_array_get_idx(panels, i), *targets, *gp;
		const char *type = str(p, "type") ?: "", *title = str(p, "title") ?: "(untitled)";
		int id = json_object_get_int(get(p, "id"));

		ASSERT_TRUE(id > 0 && id < 1024 && !ids[id], title); /* unique ids */
		if (id > 0 && id < 1024)
			ids[id] = true;
		gp = get(p, "gridPos");
		ASSERT_TRUE(gp && get(gp, "w") && get(gp, "h") && get(gp, "x") && get(gp, "y") &&
			    json_object_get_int(get(gp, "x")) + json_object_get_int(get(gp, "w")) <= 24,
			    title);
		if (!strcmp(type, "row"))
			continue;
		npanels++;
		ASSERT_STR(str(get(p, "datasource"), "uid"), "${DS_PROMETHEUS}", title);
		targets = get(p, "targets");
		if (!ASSERT_TRUE(targets && json_object_array_length(targets) > 0, title))
			continue;
		for (size_t j = 0; j < json_object_array_length(targets); j++) {
			struct json_object *t = json_object_array_get_idx(targets, j);
			const char *expr = str(t, "expr");

			if (!ASSERT_TRUE(expr && strstr(expr, "weft_"), title))
				continue;
			ASSERT_STR(str(get(t, "datasource"), "uid"), "${DS_PROMETHEUS}", title);
			ASSERT_TRUE(scoped(expr), expr);
			if (!expr_names_known(expr, used, bad, sizeof(bad)))
				weft_assert(false, __FILE__, __LINE__, "panel '%s': unknown metric %s in %s",
					    title, bad, expr);
			nqueries++;
		}
	}
	ASSERT_GE(npanels, 12, "panels");
	ASSERT_GE(nqueries, 20, "queries");
	/* What issue 5 asks the dashboard to show. */
	static const char *const needed[] = {
		"weft_tcp_received_bytes_total", "weft_tcp_sent_bytes_total",	/* service graph */
		"weft_tcp_connections_opened_total", "weft_tcp_connections_closed_total",
		"weft_tcp_connections_active",
		"weft_tcp_rtt_seconds_bucket", "weft_tcp_connect_duration_seconds_bucket",
		"weft_tcp_connections_failed_total", "weft_tcp_connections_reset_total",
		"weft_policy_decisions_total", "weft_datapath_events_total",	/* drops, fallbacks */
		"weft_map_entries", "weft_map_capacity",			/* map pressure */
	};
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		ASSERT_TRUE(used[metric_index(needed[i])], needed[i]);
out:
	json_object_put(d);
}

TEST(unit, dashboard_check_catches_an_unknown_metric)
{
	bool used[NMETRICS] = { false };
	char bad[128] = "";

	ASSERT_TRUE(expr_names_known("sum(rate(weft_tcp_sent_bytes_total[5m]))", used, bad,
				     sizeof(bad)), "a known name");
	ASSERT_TRUE(used[metric_index("weft_tcp_sent_bytes_total")], "marked used");
	ASSERT_FALSE(expr_names_known("rate(weft_map_entries[1m]) / weft_map_capacty", used, bad,
				      sizeof(bad)), "a typo");
	ASSERT_STR(bad, "weft_map_capacty", "the typo is named");
	ASSERT_FALSE(expr_names_known("rate(weft_tcp_rtt_seconds[1m])", used, bad, sizeof(bad)),
		     "a histogram's base name is not a series");
}
