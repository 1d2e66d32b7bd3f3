#!/usr/bin/env bash
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
#
# The README's kernel table from weft-test outputs: each feature's kernel
# tests (bpf and e2e layers) with what one run made of them.
#
#	features.sh OUTPUT...	e.g. build/kernel/out/bpf.out build/kernel/out/e2e.out
#
# Prints one line per feature: "feature: P passed, S skipped, F failed", then
# the skips and failures by name. A test is counted under the first pattern
# its layer/name matches.
set -euo pipefail

awk '
BEGIN {
	n = split("service translation|redirect|policy|observability|kubernetes|other", order, "|")
	pat["kubernetes"] = "^e2e/k8s_"
	pat["redirect"] = "^(bpf|e2e)/redir_"
	pat["policy"] = "^(bpf/(policy_|tc_|netns_)|e2e/(policy_|redirect_first_then_policy))"
	pat["observability"] = "^(bpf/obs_|e2e/(metrics_|cli_))"
	pat["service translation"] = "^(bpf/(sock_|apply_|full_map_)|e2e/(weftd_|datapath_|sigterm_|sighup_|backends_|maglev_|restart_))"
	pat["other"] = "."
}
$1 ~ /^(ok|skip|FAIL)$/ && $2 ~ /^(bpf|e2e)\// {
	for (i = 1; i <= n; i++) {
		f = order[i]
		if ($2 ~ pat[f])
			break
	}
	r = $1 == "ok" ? "pass" : $1 == "skip" ? "skip" : "fail"
	count[f, r]++
	if (r != "pass") {
		line = $0
		sub(/^(skip|FAIL) +/, "", line)
		notes[f] = notes[f] "\n    " r " " line
	}
}
END {
	for (i = 1; i <= n; i++) {
		f = order[i]
		if (!count[f, "pass"] && !count[f, "skip"] && !count[f, "fail"])
			continue
		printf "%s: %d passed, %d skipped, %d failed%s\n", f, count[f, "pass"],
			count[f, "skip"], count[f, "fail"], notes[f]
	}
}' "$@"
