#!/usr/bin/env python3
# Writes the crafted seeds of tests/fuzz/corpus (the files named seed-*):
# HTTP heads (tests/unit/test_http.c's), rtnetlink datagrams (the shapes
# tests/unit/test_nl.c crafts), frames for tc, watch streams and list pages
# and arrays of related objects made from the unit tests' Kubernetes objects
# (corpus/k8s_*/unit-*), kubeconfigs (tests/e2e/test_k8s.c's), and the
# weft.yaml files of deploy/. The unit-* files are the inputs the unit tests
# hand json-c and libyaml, recorded once. Run from the top of the checkout.
import glob, hashlib, json, os, re, struct

OUT = 'tests/fuzz/corpus'


def save(target, name, data):
    if isinstance(data, str):
        data = data.encode()
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, 'seed-' + name), 'wb') as f:
        f.write(data)


def objs(target):
    out = []
    for p in sorted(glob.glob(os.path.join(OUT, target, 'unit-*'))):
        try:
            out.append(json.load(open(p)))
        except ValueError:
            pass
    return out

# --- http ------------------------------------------------------------------
for i, h in enumerate([
        'GET /metrics HTTP/1.1\r\nAccept-Encoding: gzip\r\n\r\n',
        'GET /metrics HTTP/1.1\r\nHost: a\r\nACCEPT-ENCODING:  br, gzip;q=0.5\r\n\r\n',
        'GET / HTTP/1.1\r\nAccept-Encoding: *\r\nAccept-Encoding: gzip;q=0\r\n\r\n',
        'HEAD /healthz HTTP/1.0\n\n',
        'GET /readyz?verbose=1 HTTP/1.1\r\nUser-Agent: kube-probe/1.30\r\n\r\n',
        'POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n',
        'GET /metrics HTTP/2.0\r\n\r\n',
        'GET /metrics HTTP/1.1\r\nAccept-Encoding: x-gzip;q=1.000, identity;q=0.001\r\n\r\n',
        'GET /' + 'a' * 300 + ' HTTP/1.1\r\n\r\n',
        '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03']):
    save('http', '%02d' % i, h)

# --- netlink ---------------------------------------------------------------
NLMSG_ERROR, NLMSG_DONE = 2, 3
RTM_NEWLINK, RTM_DELLINK, RTM_NEWROUTE, RTM_NEWQDISC, RTM_NEWNSID = 16, 17, 24, 36, 88


def align(b):
    return b + b'\0' * (-len(b) % 4)


def attr(t, payload):
    return align(struct.pack('=HH', 4 + len(payload), t) + payload)


def msg(t, hdr, attrs=b'', flags=0, seq=0, pid=0):
    body = align(hdr) + attrs
    return struct.pack('=IHHII', 16 + len(body), t, flags, seq, pid) + body


def ack(err=0, seq=0):
    return msg(NLMSG_ERROR, struct.pack('=i', err) + b'\0' * 16, seq=seq)


ifinfo = lambda idx: struct.pack('=BxHiII', 0, 1, idx, 0, 0)
save('nl_link', 'events', msg(RTM_NEWLINK, ifinfo(7), attr(3, b'wv-a\0') + attr(4, struct.pack('=I', 1500)) +
                              attr(37, struct.pack('=I', 3))) +
     msg(RTM_DELLINK, ifinfo(8), attr(3, b'wv-b\0')) + msg(RTM_NEWLINK, ifinfo(9)))
save('nl_link', 'dump', msg(RTM_NEWLINK, ifinfo(1), attr(3, b'lo\0'), flags=2, seq=1, pid=1) +
     msg(NLMSG_DONE, struct.pack('=i', 0), seq=1, pid=1))
save('nl_link', 'error', ack(-19, seq=1))
tcmsg = lambda idx, parent: struct.pack('=BxxxiIII', 0, idx, 0, parent, 0)
save('nl_qdisc', 'clsact', msg(RTM_NEWQDISC, tcmsg(5, 0xfffffff1), attr(1, b'clsact\0'), seq=1, pid=1) + ack(seq=1))
save('nl_qdisc', 'noqueue', msg(RTM_NEWQDISC, tcmsg(5, 0xffffffff), attr(1, b'noqueue\0')) + ack())
save('nl_qdisc', 'error', ack(-2))
rtmsg = struct.pack('=BBBBBBBBI', 2, 32, 0, 0, 254, 4, 0, 1, 0)
save('nl_route', 'direct', msg(RTM_NEWROUTE, rtmsg, attr(1, bytes([10, 0, 0, 2])) + attr(4, struct.pack('=I', 12)),
                               seq=1, pid=1) + ack(seq=1))
save('nl_route', 'gateway', msg(RTM_NEWROUTE, rtmsg, attr(5, bytes([10, 0, 0, 1])) + attr(4, struct.pack('=I', 2))) + ack())
save('nl_route', 'unreachable', ack(-101))
save('nl_nsid', 'nsid', msg(RTM_NEWNSID, b'\0', attr(1, struct.pack('=i', 4))) + ack())
save('nl_nsid', 'unassigned', msg(RTM_NEWNSID, b'\0', attr(1, struct.pack('=i', -1))) + ack())

# --- tc frames ---------------------------------------------------------------
eth = lambda proto: b'\x02' * 6 + b'\x04' * 6 + struct.pack('!H', proto)


def ip4(proto, payload, frag=0, ihl=5, ident=0x1234):
    opts = b'\x01' * (ihl * 4 - 20)
    return struct.pack('!BBHHHBBH4s4s', 0x40 | ihl, 0, 20 + len(opts) + len(payload), ident, frag, 64, proto, 0,
                       bytes([10, 0, 0, 2]), bytes([10, 0, 0, 3])) + opts + payload


def ip6(nh, payload):
    return struct.pack('!IHBB16s16s', 6 << 28, len(payload), nh, 64, b'\xfd' + b'\0' * 14 + b'\x02',
                       b'\xfd' + b'\0' * 14 + b'\x03') + payload


tcp = struct.pack('!HHIIBBHHH', 40000, 80, 1, 0, 0x50, 2, 65535, 0, 0)
udp = struct.pack('!HHHH', 40000, 53, 8, 0)
sctp = struct.pack('!HHII', 40000, 5000, 0, 0)
frames = {
    'v4-tcp': eth(0x800) + ip4(6, tcp),
    'v4-udp': eth(0x800) + ip4(17, udp),
    'v4-options': eth(0x800) + ip4(6, tcp, ihl=8),
    'v4-sctp': eth(0x800) + ip4(132, sctp),
    'v4-icmp-unreach': eth(0x800) + ip4(1, bytes([3, 1, 0, 0])),
    'v4-icmp-echo': eth(0x800) + ip4(1, bytes([8, 0, 0, 0])),
    'v4-frag-first': eth(0x800) + ip4(17, udp, frag=0x2000),
    'v4-frag-later': eth(0x800) + ip4(17, b'x' * 16, frag=0x00b9),
    'v6-tcp': eth(0x86dd) + ip6(6, tcp),
    'v6-hbh-dst-udp': eth(0x86dd) + ip6(0, bytes([60, 0]) + b'\0' * 6 + bytes([17, 0]) + b'\0' * 6 + udp),
    'v6-frag-first': eth(0x86dd) + ip6(44, bytes([17, 0, 0, 1]) + b'\0\0\0\x07' + udp),
    'v6-frag-later': eth(0x86dd) + ip6(44, bytes([17, 0, 0x05, 0x68]) + b'\0\0\0\x07' + b'y' * 16),
    'v6-icmp-ns': eth(0x86dd) + ip6(58, bytes([135, 0, 0, 0])),
    'arp': eth(0x806) + b'\0' * 28,
}
for name, f in frames.items():
    save('tc', name, f)

# --- Kubernetes objects together ------------------------------------------
svcs, slices, pods = objs('k8s_service'), objs('k8s_slice'), objs('k8s_pod')
nss, pols = objs('k8s_namespace'), objs('k8s_netpol')
for i, s in enumerate(svcs[:8]):
    save('k8s_service', 'with-slices-%02d' % i, json.dumps([s] + slices))
for i, s in enumerate(slices[:4]):
    save('k8s_slice', 'with-services-%02d' % i, json.dumps([s] + svcs[:6]))
save('k8s_pod', 'all', json.dumps(pods))
save('k8s_namespace', 'all', json.dumps(nss))
for i, p in enumerate(pols[:8]):
    save('k8s_netpol', 'with-pods-%02d' % i, json.dumps([p] + pods[:6] + nss))

# ServiceImports (tests/unit/test_k8s_mcs.c's shapes) with their slices.
def imp(name, spec):
    return {'apiVersion': 'multicluster.x-k8s.io/v1alpha1', 'kind': 'ServiceImport',
            'metadata': {'name': name, 'namespace': 'default'}, 'spec': spec}


def mslice(svc, cluster, ip, port, family='IPv4'):
    labels = {'multicluster.kubernetes.io/service-name': svc}
    if cluster is not None:
        labels['multicluster.kubernetes.io/source-cluster'] = cluster
    return {'addressType': family, 'apiVersion': 'discovery.k8s.io/v1', 'kind': 'EndpointSlice',
            'endpoints': [{'addresses': [ip], 'conditions': {'ready': True}}],
            'metadata': {'labels': labels, 'name': 'imported-%s-%s' % (svc, cluster or 'x'),
                         'namespace': 'default'},
            'ports': [{'name': 'tcp', 'port': port, 'protocol': 'TCP'}]}


ports = [{'name': 'tcp', 'port': 5432, 'protocol': 'TCP'}, {'port': 53, 'protocol': 'UDP'}]
save('k8s_import', 'clusterset-ip', json.dumps([
    imp('db', {'ips': ['10.200.0.5'], 'ports': ports, 'type': 'ClusterSetIP',
               'sessionAffinity': 'ClientIP',
               'sessionAffinityConfig': {'clientIP': {'timeoutSeconds': 60}}}),
    mslice('db', 'east', '10.1.0.1', 5432), mslice('db', 'west', '10.2.0.1', 15432),
    mslice('db', None, '10.3.0.1', 5432)]))
save('k8s_import', 'dual-stack', json.dumps([
    imp('db', {'ips': ['10.200.0.6', 'fd00::6'], 'ports': ports, 'type': 'ClusterSetIP'}),
    mslice('db', 'east', '10.1.0.1', 5432), mslice('db', 'east', 'fd01::1', 5432, 'IPv6')]))
save('k8s_import', 'headless-and-bad', json.dumps([
    imp('h', {'ports': ports, 'type': 'Headless'}),
    imp('b', {'ips': ['banana'], 'ports': [{'port': 70000}], 'type': 'LoadBalancer'})]))

# --- k8s_node: Nodes with the Services whose node ports they carry --------
def node(name, zone, *addrs):
    return {'apiVersion': 'v1', 'kind': 'Node',
            'metadata': {'name': name, 'labels': {'topology.kubernetes.io/zone': zone}},
            'status': {'addresses': [{'type': t, 'address': a} for t, a in addrs]}}


def npsvc(name, typ, vip, extra, status=None):
    spec = {'clusterIP': vip, 'type': typ,
            'ports': [{'name': 'http', 'port': 80, 'protocol': 'TCP', 'targetPort': 8080,
                       'nodePort': 30080},
                      {'name': 'dns', 'port': 53, 'protocol': 'UDP', 'targetPort': 8080,
                       'nodePort': 30053}]}
    spec.update(extra)
    return {'apiVersion': 'v1', 'kind': 'Service',
            'metadata': {'name': name, 'namespace': 'default'}, 'spec': spec,
            'status': status or {}}


hinted = {'addressType': 'IPv4', 'apiVersion': 'discovery.k8s.io/v1', 'kind': 'EndpointSlice',
          'metadata': {'labels': {'kubernetes.io/service-name': 'np'}, 'name': 'np-a',
                       'namespace': 'default'},
          'endpoints': [{'addresses': ['10.0.0.1'], 'nodeName': 'node-1',
                         'hints': {'forZones': [{'name': 'z1'}], 'forNodes': [{'name': 'node-1'}]}},
                        {'addresses': ['10.0.0.2'], 'conditions': {'ready': False},
                         'hints': {'forZones': [{'name': 'z2'}]}}],
          'ports': [{'name': 'http', 'port': 8080, 'protocol': 'TCP'},
                    {'name': 'dns', 'port': 8080, 'protocol': 'UDP'}]}
save('k8s_node', 'node-ports', json.dumps([
    node('node-1', 'z1', ('InternalIP', '192.0.2.11'), ('ExternalIP', '203.0.113.1'),
         ('InternalIP', 'fd00::11')),
    node('node-2', 'z2', ('InternalIP', '192.0.2.12'), ('Hostname', 'node-2')),
    npsvc('np', 'NodePort', '10.96.0.1', {'externalIPs': ['198.51.100.7'],
                                           'externalTrafficPolicy': 'Local',
                                           'trafficDistribution': 'PreferSameNode'}),
    hinted]))
save('k8s_node', 'lb-and-collisions', json.dumps([
    node('node-1', 'z1', ('InternalIP', '192.0.2.11')),
    node('node-2', 'z1', ('InternalIP', '192.0.2.11')),
    npsvc('lb', 'LoadBalancer', '10.96.0.2', {},
          {'loadBalancer': {'ingress': [{'ip': '198.51.100.20'}, {'hostname': 'lb.example'},
                                        {'ip': '198.51.100.21', 'ipMode': 'Proxy'}]}}),
    npsvc('same', 'NodePort', '10.96.0.3', {'externalIPs': ['198.51.100.20']})]))
save('k8s_node', 'bad', json.dumps([
    node('node-1', 'z' * 70, ('InternalIP', 'banana')),
    {'kind': 'Node', 'metadata': {'name': 7}},
    npsvc('bad', 'Gateway', '10.96.0.4', {'externalIPs': [5]})]))


def dr(name, ns, created, spec):
    return {'apiVersion': 'networking.istio.io/v1', 'kind': 'DestinationRule',
            'metadata': {'name': name, 'namespace': ns, 'creationTimestamp': created},
            'spec': spec}


def drsvc(name, ns, ip):
    return {'kind': 'Service', 'metadata': {'name': name, 'namespace': ns,
            'annotations': {'weft.dev/fault-abort-percent': '12.5'}},
            'spec': {'clusterIP': ip, 'ports': [{'port': 80, 'protocol': 'TCP'},
                                                 {'port': 53, 'protocol': 'UDP'}]}}


save('k8s_destrule', 'every-field', json.dumps([
    drsvc('web', 'shop', '10.96.0.10'),
    dr('web', 'shop', '2026-01-01T00:00:00Z', {
        'host': 'web.shop.svc.cluster.local', 'subsets': [{'name': 'v1'}],
        'trafficPolicy': {
            'outlierDetection': {'consecutive5xxErrors': 7, 'consecutiveGatewayErrors': 3,
                                 'interval': '1m30s', 'baseEjectionTime': '500ms',
                                 'maxEjectionPercent': 50, 'minHealthPercent': 60},
            'connectionPool': {'tcp': {'maxConnections': 100, 'connectTimeout': '1s'},
                               'http': {'http1MaxPendingRequests': 1}},
            'loadBalancer': {'simple': 'LEAST_CONN'}, 'tls': {'mode': 'ISTIO_MUTUAL'}}})]))
save('k8s_destrule', 'hosts-and-precedence', json.dumps([
    drsvc('web', 'shop', '10.96.0.10'),
    dr('a', 'shop', '2026-02-01T00:00:00Z', {'host': 'web', 'trafficPolicy': {
        'loadBalancer': {'consistentHash': {'useSourceIp': True}}}}),
    dr('b', 'ops', '2026-01-01T00:00:00Z', {'host': 'web.shop', 'trafficPolicy': {
        'loadBalancer': {'simple': 'ROUND_ROBIN'}}}),
    dr('c', 'shop', '2026-01-01T00:00:00Z', {'host': '*.shop.svc.cluster.local'}),
    dr('d', 'shop', '2026-01-01T00:00:00Z', {'host': 'example.com'})]))
save('k8s_destrule', 'bad', json.dumps([
    drsvc('web', 'shop', '10.96.0.10'),
    dr('iv', 'shop', '', {'host': 'web', 'trafficPolicy': {
        'outlierDetection': {'interval': '10x', 'baseEjectionTime': 30}}}),
    dr('lb', 'shop', '', {'host': 'web', 'trafficPolicy': {
        'loadBalancer': {'simple': 'FASTEST', 'consistentHash': {}}}}),
    dr('od', 'shop', '', {'host': 'web', 'trafficPolicy': {'outlierDetection': []}})]))

# --- watch streams and list pages -----------------------------------------
def events(items, types):
    return ''.join(json.dumps({'type': t, 'object': o}) + '\n' for t, o in zip(types, items))


bm = {'kind': 'Service', 'apiVersion': 'v1', 'metadata': {'resourceVersion': '1300'}}
for step, name, body in [
        (0, 'events', events(svcs[:3], ['ADDED', 'MODIFIED', 'DELETED'])),
        (7, 'split', events(svcs[:2] + [bm], ['ADDED', 'ADDED', 'BOOKMARK'])),
        (255, 'gone', events([{'kind': 'Status', 'code': 410, 'message': 'too old resource version'}], ['ERROR'])),
        (31, 'partial', events(svcs[:1], ['ADDED']) + json.dumps({'type': 'ADDED'})[:12]),
        (3, 'list', json.dumps({'kind': 'ServiceList', 'apiVersion': 'v1',
                               'metadata': {'resourceVersion': '1299', 'continue': 'abc'}, 'items': svcs[:3]})),
        (63, 'list-last', json.dumps({'kind': 'EndpointSliceList', 'metadata': {'resourceVersion': '1400'},
                                      'items': slices[:3]}))]:
    save('watch', name, bytes([step]) + body.encode())

# --- kubeconfig --------------------------------------------------------------
save('kubeconfig', 'e2e', '''apiVersion: v1
kind: Config
current-context: test
clusters:
- name: c
  cluster:
    server: https://127.0.0.1:6443/
    certificate-authority-data: LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUI=
contexts:
- name: other
  context: {cluster: nope, user: nope}
- name: test
  context: {cluster: c, user: u}
users:
- name: u
  user:
    tokenFile: token
''')
save('kubeconfig', 'certs', '''apiVersion: v1
kind: Config
clusters:
- name: kind
  cluster: {server: "https://[::1]:6443", certificate-authority: ca.crt, insecure-skip-tls-verify: true}
contexts:
- name: only
  context: {cluster: kind, user: admin}
users:
- name: admin
  user: {client-certificate: /etc/k/c.crt, client-key-data: "aGVsbG8K", token: abc.def}
''')

# --- weft.yaml ---------------------------------------------------------------
for p in ['deploy/weft.yaml', 'deploy/demo/node-a.yaml', 'deploy/demo/node-b.yaml']:
    save('config', p.replace('/', '-'), open(p, 'rb').read())
cm = open('deploy/k8s/20-configmap.yaml').read()
m = re.search(r'weft\.yaml: \|\n((?:    .*\n|\n)+)', cm)
if m:
    save('config', 'deploy-k8s-configmap', re.sub(r'^    ', '', m.group(1), flags=re.M))
