#!/usr/bin/python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""report.py OUTDIR: turn bench.sh's raw outputs (OUTDIR/raw) into
OUTDIR/results.json (Service Mesh Performance result fields), OUTDIR/smp/
(one SMP document per scenario, PerformanceTestResult-shaped, as Meshery
imports them), OUTDIR/summary.md (every figure also as a ratio to no mesh) and
PNG charts drawn by gnuplot.

report.py --smp OUTDIR: only OUTDIR/smp/, from an existing OUTDIR/results.json."""
import hashlib
import json
import os
import re
import statistics
import subprocess
import sys
from datetime import datetime, timezone

SMP_VERSION = "v0.0.1"
SCENARIOS = ["no-mesh", "kube-proxy", "sidecar", "weft", "weft-redirect", "sockmap-ref"]
# weft-redirect against the bare sockops + sk_msg reference (issue 17): the
# figures compared, and whether lower is better. share = the reference's
# figure over weft's where lower is better, weft's over the reference's
# where higher is: 1.0 is the limit, the goal is >= 0.95 for each.
REF_METRICS = [
    ("RTT p50 (sockperf)", "sockperf", "lat", "p50", True),
    ("transactions/s, one connection", "sockperf", "qps", None, False),
    ("HTTP req/s, 16 conns", "wrk16", "qps", None, False),
    ("bulk Gbit/s", "iperf3", "bps", None, False),
    ("new connections/s", "connrate", "qps", None, False),
    ("CPU us per HTTP request, 16 conns", "wrk16", "cpu_us_per_tx", None, True),
]
REF_GOAL = 0.95
PLACEMENTS = ["one-cpu", "two-cpu"]
TESTS = ["sockperf", "connrate", "wrk1", "wrk16", "iperf3"]
TOOL = {"sockperf": "sockperf ping-pong --tcp --full-rtt", "connrate": "wb-connrate",
        "wrk1": "wrk -t1 -c1", "wrk16": "wrk -t2 -c16", "iperf3": "iperf3",
        "openloop": "wb-connrate --rate (open loop, latency from the intended send time)"}
CONNECTIONS = {"sockperf": 1, "connrate": 1, "wrk1": 1, "wrk16": 16, "iperf3": 1, "openloop": 1}
HZ = os.sysconf("SC_CLK_TCK")

# ------------------------------------------------------------------ parsers


def parse_sockperf(text):
    pct = {float(p): float(v) for p, v in
           re.findall(r"---> percentile\s+([\d.]+)\s*=\s*([\d.]+)", text)}
    mx = re.search(r"<MAX> observation\s*=\s*([\d.]+)", text)
    mn = re.search(r"<MIN> observation\s*=\s*([\d.]+)", text)
    avg = re.search(r"avg-(?:rtt|lat(?:ency)?)\s*=\s*([\d.]+)", text)
    rt = re.search(r"\[Valid Duration\] RunTime=([\d.]+) sec; SentMessages=(\d+); ReceivedMessages=(\d+)", text)
    total = re.search(r"\[Total Run\] RunTime=[\d.]+ sec;.*ReceivedMessages=(\d+)", text)
    if not (pct and mx and mn and avg and rt and total):
        return None
    runtime, recv = float(rt.group(1)), int(rt.group(3))
    return {"lat_us": {"min": float(mn.group(1)), "average": float(avg.group(1)),
                       "p50": pct.get(50.0), "p90": pct.get(90.0), "p99": pct.get(99.0),
                       "p999": pct.get(99.9), "max": float(mx.group(1))},
            "qps": recv / runtime, "tx": int(total.group(1))}   # CPU covers the warm-up too


def us(value, unit):
    return float(value) * {"us": 1, "ms": 1e3, "s": 1e6}[unit]


def parse_wrk(text):
    rps = re.search(r"Requests/sec:\s+([\d.]+)", text)
    reqs = re.search(r"(\d+) requests in", text)
    lat = re.search(r"Latency\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)\s+([\d.]+)(us|ms|s)", text)
    dist = {int(p): us(v, u) for p, v, u in re.findall(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", text, re.M)}
    errs = re.search(r"Socket errors: (.*)", text)
    if not (rps and reqs and lat and dist):
        return None
    return {"lat_us": {"min": None, "average": us(lat.group(1), lat.group(2)), "p50": dist.get(50),
                       "p90": dist.get(90), "p99": dist.get(99), "p999": None,
                       "max": us(lat.group(5), lat.group(6))},
            "qps": float(rps.group(1)), "tx": int(reqs.group(1)),
            "errors": errs.group(1) if errs else ""}


def parse_connrate(text):
    try:
        d = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if not d.get("connections"):
        return None
    return {"lat_us": d["latency_us"], "qps": d["rate"], "tx": d["connections"],
            "failures": d["failures"]}


def parse_iperf3(text):
    try:
        d = json.loads(text)
        s = d["end"]["sum_received"]
    except (ValueError, KeyError):
        return None
    return {"lat_us": None, "qps": None, "bps": s["bits_per_second"], "tx": s["bytes"]}


def parse_openloop(text):
    try:
        d = json.loads(text.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None
    if not d.get("requests") or d.get("failures"):
        return None
    return {"lat_us": d["latency_us"], "qps": d["rate"], "tx": d["requests"],
            "target_rate": d["target_rate"], "late": d["late"]}


PARSE = {"sockperf": parse_sockperf, "connrate": parse_connrate, "wrk1": parse_wrk,
         "wrk16": parse_wrk, "iperf3": parse_iperf3, "openloop": parse_openloop}

# ------------------------------------------------------------------ helpers


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def spread(xs):
    """(max - min) / median over the repetitions, as a fraction."""
    xs = [x for x in xs if x is not None]
    if len(xs) < 2 or not statistics.median(xs):
        return None
    return (max(xs) - min(xs)) / statistics.median(xs)


def iso(ns):
    return datetime.fromtimestamp(int(ns) / 1e9, timezone.utc).isoformat(timespec="milliseconds")


def ratio(a, b):
    return a / b if a is not None and b else None


def fmt(v, digits=1):
    if v is None:
        return "n/a"
    if abs(v) >= 1000:
        return "{:,.0f}".format(v)
    return "{:.{}f}".format(v, digits)


def fr(v):
    return "n/a" if v is None else "{:.2f}x".format(v)


# ------------------------------------------------------------------ load


def load(out):
    raw = os.path.join(out, "raw")
    meta = json.load(open(os.path.join(raw, "meta.json")))
    try:
        meta.update(json.load(open(os.path.join(raw, "meta-after.json"))))
    except (OSError, ValueError):
        pass
    rows = []
    with open(os.path.join(raw, "index.tsv")) as f:
        head = f.readline().rstrip("\n").split("\t")
        for line in f:
            r = dict(zip(head, line.rstrip("\n").split("\t")))
            text = open(os.path.join(raw, r["file"]), errors="replace").read()
            m = PARSE[r["test"]](text) if r["rc"] == "0" else None
            r["m"] = m
            if m:
                # The scenario's processes (cgroup: their softirq work runs in
                # their context and is included) plus ksoftirqd's time.
                si_us = int(r["softirq_ticks_used"]) * 1e6 / HZ
                cpu_us = float(r["cg_usec"])
                m["cpu_us_per_tx"] = cpu_us / m["tx"] if r["test"] != "iperf3" else None
                m["cpu_s_per_gb"] = cpu_us / 1e6 / (m["tx"] / 1e9) if r["test"] == "iperf3" else None
                m["softirq_share"] = si_us / cpu_us if cpu_us else None
                m["machine_cpu_us_per_tx"] = int(r["cpu_ticks"]) * 1e6 / HZ / m["tx"]
            # CPU the machine spent outside this scenario (other load), as a
            # share of all CPUs over the measurement's window.
            wall_us = (int(r["end_ns"]) - int(r["start_ns"])) / 1e3
            r["other_share"] = max(0.0, (int(r["cpu_ticks"]) * 1e6 / HZ - float(r["cg_usec"]))
                                   / (wall_us * meta["nproc"])) if wall_us > 0 else None
            rows.append(r)
    scale = {}
    try:
        with open(os.path.join(raw, "scale.tsv")) as f:
            f.readline()
            for line in f:
                n, s, metric, v = line.rstrip("\n").split("\t")
                scale.setdefault(int(n), {}).setdefault(s, {})[metric] = float(v)
    except OSError:
        pass
    try:
        meta["scrape"] = json.load(open(os.path.join(raw, "scrape.json")))
    except (OSError, ValueError):
        pass
    return meta, rows, scale


def aggregate(rows):
    """(scenario, placement, test) -> medians, spreads, raw values."""
    groups = {}
    for r in rows:
        if r["placement"] == "scale":
            continue
        groups.setdefault((r["scenario"], r["placement"], r["test"]), []).append(r)
    agg = {}
    for key, rs in groups.items():
        ok = [r["m"] for r in rs if r["m"]]
        a = {"n": len(ok), "failed": len(rs) - len(ok),
             "start_ns": min(int(r["start_ns"]) for r in rs),
             "end_ns": max(int(r["end_ns"]) for r in rs)}
        for k in ("qps", "bps", "cpu_us_per_tx", "cpu_s_per_gb", "softirq_share"):
            vals = [m.get(k) for m in ok]
            a[k], a[k + "_spread"], a[k + "_reps"] = median(vals), spread(vals), vals
        a["lat_us"] = {}
        if ok and ok[0]["lat_us"]:
            for p in ("min", "average", "p50", "p90", "p99", "p999", "max"):
                vals = [m["lat_us"].get(p) for m in ok]
                a["lat_us"][p] = median(vals)
                a["lat_us"][p + "_spread"] = spread(vals)
        agg[key] = a
    return agg


# ------------------------------------------------------------------ outputs


def load_prog_stats(out):
    """raw/progs.json and raw/<scenario>-cgroup-progs.json (bench.sh --prog-stats):
    (scenario, program, type, runs, ns) of the programs each scenario ran; the
    sk_msg programs (attached to a map, not a cgroup) by name."""
    raw = os.path.join(out, "raw")
    try:
        progs = json.load(open(os.path.join(raw, "progs.json")))
    except (OSError, ValueError):
        return []
    by_id = {p["id"]: p for p in progs}
    res = []
    for s, msg in (("weft-redirect", "weft_redir"), ("sockmap-ref", "wb_ref_msg")):
        try:
            ids = [c["id"] for c in json.load(open(os.path.join(raw, s + "-cgroup-progs.json")))]
        except (OSError, ValueError):
            continue
        ids += [p["id"] for p in progs if p.get("name") == msg and p.get("run_cnt")]
        for i in ids:
            p = by_id.get(i)
            if p:
                res.append((s, p.get("name", "?"), p.get("type", "?"), p.get("run_cnt", 0),
                            p.get("run_time_ns", 0)))
    return res


def load_policy(out):
    """raw/policy.tsv (tests/bench/policy.sh): medians of each metric."""
    vals = {}
    try:
        with open(os.path.join(out, "raw", "policy.tsv")) as f:
            for line in f:
                k, _, v = line.rstrip("\n").partition("\t")
                vals.setdefault(k, []).append(float(v))
    except OSError:
        return {}
    res = {k: median(v) for k, v in vals.items()}
    res["repetitions"] = len(vals.get("apply_us", []))
    return res


def load_tccost(out):
    """raw/tccost.tsv (tests/bench/tccost.sh): median ns per run of each
    tc program of this build."""
    vals = {}
    try:
        with open(os.path.join(out, "raw", "tccost.tsv")) as f:
            for line in f:
                build, prog, ns, _runs = line.rstrip("\n").split("\t")
                if build == "build":
                    vals.setdefault(prog, []).append(float(ns))
    except (OSError, ValueError):
        return {}
    return {k: median(v) for k, v in vals.items()}


def results_json(out, meta, agg, scale, rows):
    res = []
    for (s, pl, t), a in sorted(agg.items()):
        lat = a["lat_us"]
        r = {"start_time": iso(a["start_ns"]), "end_time": iso(a["end_ns"]),
             "latencies_ms": {k: (lat.get(k) / 1000 if lat.get(k) is not None else None)
                              for k in ("min", "average", "p50", "p90", "p99", "max")},
             "actual_qps": a["qps"],
             "labels": {"scenario": s, "tool": TOOL[t], "test": t, "placement": pl,
                        "payload_bytes": meta["payload_bytes"] if t != "iperf3" else None,
                        "kernel": meta["kernel"], "connections": CONNECTIONS[t],
                        "repetitions": str(a["n"])},
             "p999_ms": lat.get("p999") / 1000 if lat.get("p999") is not None else None,
             "cpu_us_per_transaction": a["cpu_us_per_tx"],
             "softirq_share_of_cpu": a["softirq_share"],
             "spread": {"actual_qps": a["qps_spread"], "p50": lat.get("p50_spread"),
                        "p99": lat.get("p99_spread"), "cpu": a["cpu_us_per_tx_spread"]},
             "aggregation": "median over repetitions; spread = (max - min) / median"}
        if t == "iperf3":
            r["throughput_bps"] = a["bps"]
            r["cpu_s_per_gb"] = a["cpu_s_per_gb"]
            r["spread"]["throughput_bps"] = a["bps_spread"]
        res.append(r)
    for s, why in meta.get("unavailable", {}).items():
        res.append({"labels": {"scenario": s, "kernel": meta["kernel"]},
                    "status": "not-available", "reason": why})
    by = {(r["rep"], r["scenario"]): r for r in rows if r["placement"] == "scale"}
    for n in sorted(scale):
        for s in ("no-mesh", "weft", "kube-proxy"):
            r = by.get((str(n), s))
            m = r["m"] if r else None
            if not m:
                continue
            lat = m["lat_us"]
            e = {"start_time": iso(r["start_ns"]), "end_time": iso(r["end_ns"]),
                 "latencies_ms": {k: lat[k] / 1000 for k in ("min", "average", "p50", "p90",
                                                             "p99", "max")},
                 "actual_qps": m["qps"],
                 "labels": {"scenario": s, "tool": TOOL["connrate"], "test": "scaling",
                            "placement": "one-cpu", "payload_bytes": meta["payload_bytes"],
                            "kernel": meta["kernel"], "services": str(n)}}
            e.update({k: v for k, v in scale[n].get(s, {}).items()})
            res.append(e)
    doc = {"smp_version": SMP_VERSION,
           "environment": {k: meta.get(k) for k in ("kernel", "nproc", "cpu_model",
                                                    "loadavg_before", "loadavg_after", "date",
                                                    "busy_pct_before",
                                                    "quick", "reps", "durations_s",
                                                    "placements", "tools")},
           "results": res}
    doc["environment"]["commit"] = weft_commit()
    if meta.get("scrape"):
        doc["metrics_scrape"] = meta["scrape"]
    pol = load_policy(out)
    if pol:
        doc["policy_apply"] = dict(pol, endpoints=1000, cidrs=10000,
                                   what="weftd SIGHUP to applied, microseconds, median; "
                                        "apply: none before; change: one CIDR moved; remove: policy deleted")
    tc = load_tccost(out)
    if tc:
        doc["tc_cost"] = dict(tc, what="kernel ns per run (kernel.bpf_stats_enabled), median; "
                                       "TCP ping-pong of 64-byte messages, tracked flow, one CPU")
    with open(os.path.join(out, "results.json"), "w") as f:
        json.dump(doc, f, indent=1)
    write_smp(out, doc)


def weft_commit():
    """The commit the study ran (WEFT_COMMIT, else git's HEAD), or "unknown"."""
    if os.environ.get("WEFT_COMMIT"):
        return os.environ["WEFT_COMMIT"]
    try:
        r = subprocess.run(["git", "-C", os.path.dirname(os.path.abspath(__file__)), "rev-parse",
                            "HEAD"], capture_output=True, text=True, check=True)
        return r.stdout.strip() or "unknown"
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# What each scenario is, for SMP's ServiceMeshConfig.
MESH = {"no-mesh": ("none", False), "kube-proxy": ("kube-proxy (iptables model)", False),
        "sidecar": ("haproxy sidecar model", True), "weft": ("weft", True),
        "weft-redirect": ("weft, socket redirect", True),
        "sockmap-ref": ("bare sockops + sk_msg reference (no LB, policy or counters)", False)}


def smp_id(*parts):
    """A stable id: the same inputs give the same id in every run's documents."""
    return hashlib.sha256("\0".join(str(p) for p in parts).encode()).hexdigest()[:32]


def smp_labels(d):
    """SMP labels are map<string, string>: values as text, empty ones left out."""
    return {str(k): (v if isinstance(v, str) else json.dumps(v)) for k, v in d.items()
            if v is not None}


def smp_documents(doc):
    """results.json's document -> {scenario: SMP document}: the scenario's
    PerformanceTestResults (proto3 JSON names: actualQPS, latenciesMs, ...)
    with the ServiceMeshConfig and EnvironmentConfig they name by id."""
    env = doc.get("environment") or {}
    commit = env.get("commit") or weft_commit()
    env_id = smp_id("env", env.get("kernel"), env.get("cpu_model"), env.get("nproc"), env.get("date"))
    envcfg = {"smpVersion": doc.get("smp_version", SMP_VERSION), "id": env_id,
              "labels": smp_labels({k: env.get(k) for k in ("kernel", "cpu_model", "nproc", "date",
                                                            "reps", "quick")}),
              "kubernetesVersion": "none: one node, pods as network namespaces",
              "node": [{"type": str(env.get("cpu_model") or "unknown"),
                        "cores": int(env.get("nproc") or 0)}]}
    out = {}
    for r in doc.get("results", []):
        lab = r.get("labels") or {}
        s = lab.get("scenario")
        if not s or r.get("actual_qps") is None:
            continue        # not available on this machine: nothing measured
        name, telemetry = MESH.get(s, (s, False))
        if s not in out:
            mesh_id = smp_id("mesh", s, commit)
            out[s] = {"smpVersion": doc.get("smp_version", SMP_VERSION),
                      "meshConfig": {"smpVersion": doc.get("smp_version", SMP_VERSION), "id": mesh_id,
                                     "labels": {"scenario": s, "mesh": name, "weft_commit": commit},
                                     "meshBuild": commit if s.startswith("weft") else "",
                                     "mtlsEnabled": False, "meshTelemetryEnabled": telemetry,
                                     "profile": s},
                      "envConfig": envcfg, "results": []}
        res = out[s]
        lat = r.get("latencies_ms") or {}
        test_id = smp_id("test", s, lab.get("test"), lab.get("placement"), lab.get("services"))
        res["results"].append({
            "smpVersion": res["smpVersion"],
            "id": smp_id("result", test_id, r.get("start_time"), commit),
            "labels": smp_labels(dict(lab, weft_commit=commit)),
            "startTime": r.get("start_time"), "endTime": r.get("end_time"),
            "latenciesMs": {k: float(lat[k]) for k in ("min", "average", "p50", "p90", "p99", "max")
                            if lat.get(k) is not None},
            "actualQPS": float(r["actual_qps"]),
            "detailsUri": "results.json",
            "testId": test_id, "meshConfigId": res["meshConfig"]["id"], "envId": env_id})
    return out


def write_smp(out, doc):
    d = os.path.join(out, "smp")
    os.makedirs(d, exist_ok=True)
    for s, sdoc in smp_documents(doc).items():
        with open(os.path.join(d, s + ".json"), "w") as f:
            json.dump(sdoc, f, indent=1)


def gnuplot(script):
    subprocess.run(["gnuplot"], input=script.encode(), check=True)


def charts(out, agg, scale, rows, scen):
    dat = os.path.join(out, "latency.dat")
    with open(dat, "w") as f:
        f.write("# scenario p50 p90 p99 p99.9 (us), per placement\n")
        for pl in PLACEMENTS:
            for s in scen:
                lat = agg.get((s, pl, "sockperf"), {}).get("lat_us", {})
                f.write('"%s" %s\n' % (s, " ".join(str(lat.get(p) or "NaN")
                                                    for p in ("p50", "p90", "p99", "p999"))))
            f.write("\n\n")
    gnuplot("""set terminal pngcairo size 1200,520 font ",10"
set output '%s'
set multiplot layout 1,2 title "TCP request/response round trip, %d-byte payload (sockperf ping-pong, medians)"
set style data histogram
set style histogram cluster gap 1
set style fill solid 0.8 border -1
set boxwidth 0.9
set ylabel "round trip (us, log scale)"
set grid ytics
set key top left
set logscale y
set yrange [5:*]
set xtics rotate by -20
set title "client and server on one CPU"
plot '%s' index 0 using 2:xtic(1) title "p50", '' index 0 using 3 title "p90", '' index 0 using 4 title "p99", '' index 0 using 5 title "p99.9"
set title "client and server on two CPUs"
plot '%s' index 1 using 2:xtic(1) title "p50", '' index 1 using 3 title "p90", '' index 1 using 4 title "p99", '' index 1 using 5 title "p99.9"
unset multiplot
""" % (os.path.join(out, "latency.png"), 64, dat, dat))
    if not scale:
        return
    by = {(r["rep"], r["scenario"]): r["m"] for r in rows if r["placement"] == "scale"}
    dat = os.path.join(out, "scaling.dat")
    with open(dat, "w") as f:
        f.write("# services no-mesh weft kube-proxy (conn/s); weft_start weft_reload iptables_restore (ms)\n")
        for n in sorted(scale):
            vals = [(by.get((str(n), s)) or {}).get("qps") for s in ("no-mesh", "weft", "kube-proxy")]
            ms = [scale[n].get("weft", {}).get("start_us"), scale[n].get("weft", {}).get("reload_us"),
                  scale[n].get("kube-proxy", {}).get("restore_us")]
            f.write("%d %s %s\n" % (n, " ".join(str(v) if v else "NaN" for v in vals),
                                    " ".join(str(v / 1000) if v else "NaN" for v in ms)))
    gnuplot("""set terminal pngcairo size 900,520 font ",10"
set output '%s'
set title "New connections per second vs services on the node (connect, 64 B request, close; one CPU)"
set logscale x
set xlabel "services"
set ylabel "connections / s"
set yrange [0:*]
set grid
set key bottom left
plot '%s' using 1:2 with linespoints lw 2 title "no mesh (reference, same time)", \\
     '' using 1:3 with linespoints lw 2 title "weft (services in BPF maps)", \\
     '' using 1:4 with linespoints lw 2 title "kube-proxy model (services in iptables)"
""" % (os.path.join(out, "connrate_scaling.png"), dat))
    gnuplot("""set terminal pngcairo size 900,520 font ",10"
set output '%s'
set title "Time to apply all services"
set logscale xy
set xlabel "services"
set ylabel "ms"
set grid
set key top left
plot '%s' using 1:5 with linespoints lw 2 title "weft: weftd start to applied", \\
     '' using 1:6 with linespoints lw 2 title "weft: SIGHUP reload to applied", \\
     '' using 1:7 with linespoints lw 2 title "kube-proxy model: iptables-restore"
""" % (os.path.join(out, "apply_time.png"), dat))


def summary(out, meta, agg, scale, rows, scen):
    OPEN_RATE = "{:,}".format(int(meta.get("open_rate", 0)))
    L = []
    w = L.append
    w("# weft benchmark summary\n")
    w("- kernel %s, %s CPUs (%s); %s; %s repetition(s)%s" % (
        meta["kernel"], meta["nproc"], meta["cpu_model"], meta["date"], meta["reps"],
        ", QUICK" if meta["quick"] else ""))
    la, lb = meta["loadavg_before"], meta.get("loadavg_after")
    busy = meta.get("busy_pct_before")
    other = sorted(r["other_share"] for r in rows if r.get("other_share") is not None)
    om = statistics.median(other) if other else 0
    w("- other load: machine %s%% busy in the second before the start; during the measurements the CPU "
      "time spent outside the measured scenario was %.0f%% of the machine (median), %.0f%% (max); "
      "loadavg before %s%s%s" % (busy if busy is not None else "?", 100 * om,
                                 100 * (other[-1] if other else 0), la,
                                 ", after %s" % lb if lb else "",
                                 " -- **OTHER LOAD ON THE MACHINE: figures are noisy**"
                                 if (busy or 0) > 10 or om > 0.05 else ""))
    w("- placements: %s" % "; ".join("%s = %s" % kv for kv in meta["placements"].items()))
    w("- medians over repetitions; `(±x%)` is (max-min)/median; ratio = scenario / no-mesh "
      "in the same placement (for latency and CPU lower is better, for rates higher)")
    for s, why in meta.get("unavailable", {}).items():
        w("- **%s: not available** (%s)" % (s, why))
    w("")

    def cell(v, sp, base, digits=1):
        txt = fmt(v, digits)
        if sp is not None:
            txt += " (±%.0f%%)" % (100 * sp)
        r = ratio(v, base)
        return txt + (" · %s" % fr(r) if r is not None else "")

    metrics = [
        ("sockperf RTT p50 (us)", "sockperf", "lat", "p50"),
        ("sockperf RTT p90 (us)", "sockperf", "lat", "p90"),
        ("sockperf RTT p99 (us)", "sockperf", "lat", "p99"),
        ("sockperf RTT p99.9 (us)", "sockperf", "lat", "p999"),
        ("transactions/s, one connection", "sockperf", "qps", None),
        ("CPU us per transaction", "sockperf", "cpu_us_per_tx", None),
        ("new connections/s", "connrate", "qps", None),
        ("connection latency p50 (us)", "connrate", "lat", "p50"),
        ("connection latency p99 (us)", "connrate", "lat", "p99"),
        ("CPU us per connection", "connrate", "cpu_us_per_tx", None),
        ("HTTP req/s, 1 conn (wrk)", "wrk1", "qps", None),
        ("HTTP p50 (us), 1 conn", "wrk1", "lat", "p50"),
        ("HTTP p99 (us), 1 conn", "wrk1", "lat", "p99"),
        ("HTTP req/s, 16 conns", "wrk16", "qps", None),
        ("HTTP p50 (us), 16 conns", "wrk16", "lat", "p50"),
        ("HTTP p99 (us), 16 conns", "wrk16", "lat", "p99"),
        ("CPU us per HTTP request, 16 conns", "wrk16", "cpu_us_per_tx", None),
        ("open-loop p50 (us) at %s req/s" % OPEN_RATE, "openloop", "lat", "p50"),
        ("open-loop p99 (us) at %s req/s" % OPEN_RATE, "openloop", "lat", "p99"),
        ("open-loop p99.9 (us) at %s req/s" % OPEN_RATE, "openloop", "lat", "p999"),
        ("bulk Gbit/s (iperf3)", "iperf3", "bps", None),
        ("CPU s per GB bulk", "iperf3", "cpu_s_per_gb", None),
    ]

    def get(s, pl, t, kind, p):
        a = agg.get((s, pl, t))
        if not a:
            return None, None
        if kind == "lat":
            return a["lat_us"].get(p), a["lat_us"].get(p + "_spread")
        v = a[kind]
        if kind == "bps" and v is not None:
            v = v / 1e9
        return v, a[kind + "_spread"]

    for pl in PLACEMENTS:
        w("## %s (%s)\n" % (pl, meta["placements"][pl]))
        w("| metric | " + " | ".join(scen) + " |")
        w("|---" * (len(scen) + 1) + "|")
        for name, t, kind, p in metrics:
            base, _ = get("no-mesh", pl, t, kind, p)
            cells = []
            for s in scen:
                v, sp = get(s, pl, t, kind, p)
                cells.append(cell(v, sp, base, 2 if kind in ("bps", "cpu_s_per_gb") else 1))
            w("| %s | %s |" % (name, " | ".join(cells)))
        fails = ["%s %s: %d failed" % (s, t, a["failed"]) for (s, p2, t), a in agg.items()
                 if p2 == pl and a["failed"]]
        if fails:
            w("\nfailed measurements: " + "; ".join(sorted(fails)))
        w("")

    def share(s, pl, t, kind, p, lower):
        v, ref = get(s, pl, t, kind, p)[0], get("sockmap-ref", pl, t, kind, p)[0]
        return ratio(ref, v) if lower else ratio(v, ref)

    if "weft-redirect" in scen and "sockmap-ref" in scen:
        w("## weft-redirect against the bare sockmap reference\n")
        w("share = the reference's figure / weft-redirect's where lower is better (latency, CPU), "
          "weft-redirect's / the reference's where higher is (rates); 1.00 is the limit. "
          "weft (no redirect) shown for scale.\n")
        w("| metric | placement | sockmap-ref | weft-redirect | share | weft | share |")
        w("|---|---|---|---|---|---|---|")
        for pl in PLACEMENTS:
            for name, t, kind, p, lower in REF_METRICS:
                d = 2 if kind == "bps" else 1
                w("| %s | %s | %s | %s | %s | %s | %s |" % (
                    name, pl, fmt(get("sockmap-ref", pl, t, kind, p)[0], d),
                    fmt(get("weft-redirect", pl, t, kind, p)[0], d),
                    fr(share("weft-redirect", pl, t, kind, p, lower)),
                    fmt(get("weft", pl, t, kind, p)[0], d), fr(share("weft", pl, t, kind, p, lower))))
        w("")

    by = {(r["rep"], r["scenario"]): r["m"] for r in rows if r["placement"] == "scale"}
    if scale:
        w("## Scaling: services on the node (one CPU)\n")
        w("Services counted in the maps/rule set include the 4 measured service ports. "
          "Connection rate as a ratio to no-mesh measured at the same time.\n")
        w("| services | weft start→applied (ms) | weft SIGHUP→applied (ms) | weftd RSS (MiB) "
          "| weft conn/s | weft conn p50 (us) | iptables-restore (ms) | iptables rules "
          "| kube-proxy conn/s | kube-proxy conn p50 (us) | no-mesh conn/s |")
        w("|---" * 11 + "|")
        for n in sorted(scale):
            wf, kp = scale[n].get("weft", {}), scale[n].get("kube-proxy", {})
            nm, mw, mk = by.get((str(n), "no-mesh")), by.get((str(n), "weft")), by.get((str(n), "kube-proxy"))
            base = nm["qps"] if nm else None

            def rate(m):
                return ("%s · %s" % (fmt(m["qps"]), fr(ratio(m["qps"], base)))) if m else "n/a"
            w("| {:,} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |".format(
                n, fmt(wf.get("start_us", 0) / 1000), fmt(wf.get("reload_us", 0) / 1000),
                fmt(wf.get("rss_kib", 0) / 1024), rate(mw),
                fmt(mw["lat_us"]["p50"]) if mw else "n/a",
                fmt(kp.get("restore_us", 0) / 1000), fmt(kp.get("rules")), rate(mk),
                fmt(mk["lat_us"]["p50"]) if mk else "n/a", fmt(base)))
        w("")

    sc = meta.get("scrape")
    if sc:
        w("## /metrics scrape with live flows (issue 5)\n")
        w("One scrape (read every map, render the text) with the maps of a busy node, "
          "median of %d runs; no program attached. On weftd's event loop only the copy of the "
          "names runs (loop); the rest, and gzip, on its render thread." % sc["runs"])
        w("")
        w("| flows | edges | endpoints | services | scrape (ms, median) | scrape (ms, max) "
          "| on the loop (ms) | gzip (ms) | body (MiB) | gzip (MiB) | weftd-side RSS before → peak (MiB) |")
        w("|---" * 11 + "|")
        w("| {:,} | {:,} | {:,} | {:,} | {} | {} | {} | {} | {} | {} | {} → {} |".format(
            sc["flows"], sc["edges"], sc["endpoints"], sc["services"], fmt(sc["scrape_ms_median"]),
            fmt(sc["scrape_ms_max"]), fmt(sc.get("loop_ms_median", sc["scrape_ms_median"]), 2),
            fmt(sc["gzip_ms_median"]) if "gzip_ms_median" in sc else "n/a",
            fmt(sc["body_bytes"] / 2**20),
            fmt(sc["gzip_bytes"] / 2**20) if "gzip_bytes" in sc else "n/a",
            fmt(sc["rss_kib_before"] / 1024), fmt(sc["rss_kib_peak"] / 1024)))
        w("")

    # Goals of issue 6.
    w("## Goals (issue 6)\n")
    w("| goal | measured | met |")
    w("|---|---|---|")

    def goal(name, measured, ok):
        w("| %s | %s | %s |" % (name, measured, "n/a" if ok is None else ("yes" if ok else "**no**")))
    for pl in PLACEMENTS:
        r = ratio(get("weft", pl, "connrate", "qps", None)[0], get("no-mesh", pl, "connrate", "qps", None)[0])
        goal("weft conn rate >= 0.95x no-mesh (%s)" % pl, fr(r), None if r is None else r >= 0.95)
    if scale:
        ns = sorted(scale)
        rs = [ratio((by.get((str(n), "weft")) or {}).get("qps"), (by.get((str(n), "no-mesh")) or {}).get("qps"))
              for n in ns]
        goal("weft conn rate >= 0.95x no-mesh at every size (%s services)" % ", ".join("{:,}".format(n) for n in ns),
             ", ".join(fr(r) for r in rs), None if None in rs else min(rs) >= 0.95)
        first, last = (by.get((str(ns[0]), "weft")) or {}).get("qps"), (by.get((str(ns[-1]), "weft")) or {}).get("qps")
        r = ratio(last, first)
        goal("weft conn rate flat: %s vs %s services" % ("{:,}".format(ns[-1]), "{:,}".format(ns[0])),
             fr(r), None if r is None else r >= 0.95)
    if "weft-redirect" in meta.get("unavailable", {}):
        goal("weft-redirect p50 <= 0.8x and tps >= 1.25x no-mesh", "not available (no socket redirect yet)", None)
    else:
        for pl in PLACEMENTS:
            r1 = ratio(get("weft-redirect", pl, "sockperf", "lat", "p50")[0], get("no-mesh", pl, "sockperf", "lat", "p50")[0])
            r2 = ratio(get("weft-redirect", pl, "sockperf", "qps", None)[0], get("no-mesh", pl, "sockperf", "qps", None)[0])
            goal("weft-redirect p50 <= 0.8x, tps >= 1.25x no-mesh (%s)" % pl, "%s, %s" % (fr(r1), fr(r2)),
                 None if None in (r1, r2) else (r1 <= 0.8 and r2 >= 1.25))
    if "sockmap-ref" in meta.get("unavailable", {}):
        goal("weft-redirect within 5% of the bare sockmap reference", "reference not available: " +
             meta["unavailable"]["sockmap-ref"], None)
    elif "weft-redirect" in scen and "sockmap-ref" in scen:
        for pl in PLACEMENTS:
            for name, t, kind, p, lower in REF_METRICS:
                r = share("weft-redirect", pl, t, kind, p, lower)
                goal("weft-redirect %s >= %.2f of the reference (%s)" % (name, REF_GOAL, pl), fr(r),
                     None if r is None else r >= REF_GOAL)
    for pl in PLACEMENTS:
        r = ratio(get("sidecar", pl, "sockperf", "lat", "p50")[0], get("weft", pl, "sockperf", "lat", "p50")[0])
        goal("sidecar p50 / weft p50 >= 2 (%s)" % pl, fr(r), None if r is None else r >= 2)
        for t, what in (("sockperf", "transaction"), ("connrate", "new connection")):
            r = ratio(get("sidecar", pl, t, "cpu_us_per_tx", None)[0], get("weft", pl, t, "cpu_us_per_tx", None)[0])
            goal("sidecar CPU / weft CPU per %s >= 3 (%s)" % (what, pl), fr(r), None if r is None else r >= 3)
    if scale:
        top = max(scale)
        wf = scale[top].get("weft", {})
        for k, what in (("start_us", "start"), ("reload_us", "SIGHUP reload")):
            v = wf.get(k)
            goal("{:,} services applied in < 1 s ({})".format(top, what),
                 "%s ms" % fmt(v / 1000 if v else None), None if v is None else v < 1e6)
        v = wf.get("rss_kib")
        goal("weftd RSS < 50 MiB with {:,} services".format(top), "%s MiB" % fmt(v / 1024 if v else None),
             None if v is None else v < 50 * 1024)
    pol = load_policy(out)
    for k, what in (("apply", "applied"), ("change", "changed (every entry rewritten)")):
        v, cpu = pol.get(k + "_us"), pol.get(k + "_cpu_us")
        if v is not None:
            goal("policy with 10,000 CIDRs and 1,000 identities %s in < 1 s (issue 4)" % what,
                 "%s ms, weftd CPU %s ms (%s policy entries, %s prefixes)" % (
                     fmt(v / 1000), fmt(cpu / 1000 if cpu is not None else None),
                     fmt(pol.get("policy_entries")), fmt(pol.get("ident_entries"))), v < 1e6)
    progs = load_prog_stats(out)
    if progs:
        w("")
        w("## Kernel time per program run (--prog-stats)\n")
        w("kernel.bpf_stats_enabled for the whole run (all placements and tests together): "
          "runs and kernel time of each program attached for the scenario.\n")
        w("| scenario | program | type | runs | ns per run | total ms |")
        w("|---|---|---|---|---|---|")
        for scen_name, name, typ, cnt, ns in progs:
            w("| %s | %s | %s | %s | %s | %s |" % (scen_name, name, typ, "{:,}".format(cnt),
                                                  fmt(ns / cnt if cnt else None), fmt(ns / 1e6)))
    tc = load_tccost(out)
    if tc:
        w("")
        w("tc policy programs, kernel time per packet (TCP ping-pong, tracked flow): " +
          ", ".join("%s %s ns" % (k, fmt(v)) for k, v in sorted(tc.items())))
    w("")
    w("Charts: latency.png (sockperf percentiles per scenario), connrate_scaling.png, apply_time.png.")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(L) + "\n")


def main():
    if len(sys.argv) > 2 and sys.argv[1] == "--smp":
        write_smp(sys.argv[2], json.load(open(os.path.join(sys.argv[2], "results.json"))))
        return
    out = sys.argv[1] if len(sys.argv) > 1 else "build/bench"
    meta, rows, scale = load(out)
    agg = aggregate(rows)
    scen = [s for s in SCENARIOS if any(k[0] == s for k in agg)]
    results_json(out, meta, agg, scale, rows)
    summary(out, meta, agg, scale, rows, scen)
    charts(out, agg, scale, rows, scen)


if __name__ == "__main__":
    main()
