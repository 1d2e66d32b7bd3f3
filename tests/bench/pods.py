#!/usr/bin/env python3
# SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
"""Cluster-pod benchmark of issue 13: weftd's memory and CPU per pod event
when it watches every pod of a cluster.

    tests/bench/pods.py [--build DIR] [--pods 1000,10000] [--events 20]

For each size N: tests/k8sapi serves N Running pods spread over 10 other
nodes (500 label sets, so 500 identities) and one NetworkPolicy (so
identities are compiled), weftd --kubeconfig --node bench-node lists them;
then EVENTS times one pod is re-labelled (a MODIFIED event) and the time
from the event to weft_info's next generation (wall) and weftd's CPU time
for it (/proc/PID/schedstat: weftd is one thread) are measured. Output: TSV
"N<TAB>metric<TAB>value" on stdout (rss_kib after the first apply,
list_apply_ms, event_wall_ms and event_cpu_ms as median and max); progress
on stderr. Needs root (weftd attaches to an empty cgroup of its own).
"""
import argparse
import json
import os
import select
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

NODES = 10
LABEL_SETS = 500


def pod(i, gen=0):
    name = "p%05d" % i
    app = "app-%d" % (i % LABEL_SETS)
    ip = "10.%d.%d.%d" % (64 + i // 65536, (i // 256) % 256, i % 256)
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "namespace": "bench", "uid": "u-" + name,
                     "labels": {"app": app, "pod-template-hash": "5d8f7c9b4",
                                "rev": str(gen)},
                     "ownerReferences": [{"apiVersion": "apps/v1", "controller": True,
                                          "kind": "ReplicaSet", "name": app + "-5d8f7c9b4",
                                          "uid": "u-rs-" + app}]},
        "spec": {"nodeName": "node-%d" % (i % NODES), "serviceAccountName": app,
                 "containers": [{"name": "c", "image": "nginx:1.27",
                                 "ports": [{"containerPort": 8080, "name": "http",
                                            "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "conditions": [{"type": "Ready", "status": "True"}],
                   "hostIP": "192.168.1.%d" % (i % NODES)},
    }


NETPOL = {
    "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
    "metadata": {"name": "web", "namespace": "bench", "uid": "u-np"},
    "spec": {"podSelector": {"matchLabels": {"app": "app-0"}}, "policyTypes": ["Ingress"],
             "ingress": [{"from": [{"podSelector": {"matchLabels": {"app": "app-1"}}}],
                          "ports": [{"port": 8080, "protocol": "TCP"}]}]},
}


class Api:
    def __init__(self, build, run):
        subprocess.run(
            "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout ca.key -out ca.crt -days 1 -subj /CN=wb-ca && "
            "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
            "-keyout srv.key -out srv.csr -subj /CN=k8sapi && "
            "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
            "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
            "-out srv.crt -days 1 -extfile san.ext", shell=True, cwd=run, check=True,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.p = subprocess.Popen([os.path.join(build, "k8sapi"), "--cert", run + "/srv.crt",
                                   "--key", run + "/srv.key", "--token", "t"],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.p.stdout.readline())
        with open(run + "/kubeconfig", "w") as f:
            f.write("apiVersion: v1\nkind: Config\ncurrent-context: b\nclusters:\n- name: c\n"
                    "  cluster:\n    server: https://127.0.0.1:%d/\n"
                    "    certificate-authority: %s/ca.crt\ncontexts:\n- name: b\n"
                    "  context: {cluster: c, user: u}\nusers:\n- name: u\n  user:\n"
                    "    token: t\n" % (self.port, run))

    def cmd(self, line):
        self.p.stdin.write(line + "\n")
        self.p.stdin.flush()
        r, _, _ = select.select([self.p.stdout], [], [], 30)
        ans = self.p.stdout.readline() if r else ""
        if not ans.startswith("ok"):
            sys.exit("pods.py: k8sapi: %r -> %r" % (line[:80], ans))

    def put(self, res, obj):
        self.cmd("put %s %s" % (res, json.dumps(obj, separators=(",", ":"))))

    def stop(self):
        self.p.terminate()
        self.p.wait()


def info(pins):
    out = subprocess.run(["bpftool", "-j", "map", "lookup", "pinned", pins + "/weft_info",
                          "key", "0", "0", "0", "0"], capture_output=True, text=True)
    try:
        return int(json.loads(out.stdout)["formatted"]["value"]["generation"])
    except (ValueError, KeyError, TypeError):
        return 0


def oncpu_ns(pid):
    with open("/proc/%d/schedstat" % pid) as f:
        return int(f.read().split()[0])


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def wait_gen(pins, pid, above, timeout=120):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        g = info(pins)
        if g > above:
            return g
        if subprocess.run(["kill", "-0", str(pid)], capture_output=True).returncode:
            sys.exit("pods.py: weftd exited")
        time.sleep(0.005)
    sys.exit("pods.py: weftd did not apply within %d s" % timeout)


def run_size(build, n, events):
    run = tempfile.mkdtemp(prefix="wb-pods.")
    cgroot = next(l.split()[1] for l in open("/proc/mounts") if l.split()[2] == "cgroup2")
    cg, pins = cgroot + "/wb-pods", "/sys/fs/bpf/wb-pods"
    cfg = run + "/weft.yaml"
    os.makedirs(cg, exist_ok=True)
    with open(cfg, "w") as f:
        f.write("datapath:\n  cgroup: %s\n  bpffs: %s\nmetrics:\n  listen: \"\"\n" % (cg, pins))
    api, weftd = Api(build, run), None
    try:
        api.put("namespaces", {"apiVersion": "v1", "kind": "Namespace",
                               "metadata": {"name": "bench", "uid": "u-ns",
                                            "labels": {"kubernetes.io/metadata.name": "bench"}}})
        api.put("networkpolicies", NETPOL)
        for i in range(n):
            api.put("pods", pod(i))
        print("pods.py: %d pods served" % n, file=sys.stderr)
        t0 = time.monotonic()
        weftd = subprocess.Popen([os.path.join(build, "weftd"), "--kubeconfig", run + "/kubeconfig",
                                  "--node", "bench-node", "--config", cfg, "--log-level", "warn"],
                                 stderr=open(run + "/weftd.log", "w"))
        gen = wait_gen(pins, weftd.pid, 0)
        print("%d\tlist_apply_ms\t%.0f" % (n, (time.monotonic() - t0) * 1000))
        time.sleep(1)
        gen = info(pins)
        print("%d\trss_kib\t%d" % (n, rss_kib(weftd.pid)))
        wall, cpu = [], []
        for e in range(events):
            c0, t0 = oncpu_ns(weftd.pid), time.monotonic()
            api.put("pods", pod((e * 7919) % n, gen=e + 1))
            gen = wait_gen(pins, weftd.pid, gen)
            wall.append((time.monotonic() - t0) * 1000)
            cpu.append((oncpu_ns(weftd.pid) - c0) / 1e6)
        for name, v in (("event_wall_ms", wall), ("event_cpu_ms", cpu)):
            print("%d\t%s_median\t%.1f\n%d\t%s_max\t%.1f" % (n, name, statistics.median(v), n,
                                                             name, max(v)))
        print("%d\trss_kib_after_events\t%d" % (n, rss_kib(weftd.pid)))
        sys.stdout.flush()
    finally:
        if weftd:
            weftd.terminate()
            weftd.wait()
            subprocess.run([os.path.join(build, "weftd"), "--cleanup", "--config", cfg],
                           capture_output=True)
        api.stop()
        try:
            os.rmdir(cg)
        except OSError:
            pass
        shutil.rmtree(run, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--build", default="build")
    ap.add_argument("--pods", default="1000,10000")
    ap.add_argument("--events", type=int, default=20)
    a = ap.parse_args()
    for n in (int(x) for x in a.pods.split(",")):
        run_size(os.path.abspath(a.build), n, a.events)


if __name__ == "__main__":
    main()
