// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* k8sclient: start tests/k8sapi.c and talk to it (k8sclient.h). */
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"
#include "k8sclient.h"

bool k8s_read_line(int fd, char *buf, size_t len, int timeout_ms)
{
	size_t n = 0;

	while (n + 1 < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, timeout_ms) != 1 || read(fd, buf + n, 1) != 1)
			return false;
		if (buf[n] == '\n')
			break;
		n++;
	}
	buf[n] = 0;
	return true;
}

/* One command to k8sapi; true when it answered "ok". */
bool api(struct api *a, const char *fmt, ...)
{
	char cmd[16384], ans[64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(cmd, sizeof(cmd) - 1, fmt, ap);
	va_end(ap);
	cmd[n++] = '\n';
	if (write(a->in, cmd, n) != n || !k8s_read_line(a->out, ans, sizeof(ans), 5000))
		return ASSERT_TRUE(false, "k8sapi answers");
	a->rv = strncmp(ans, "ok ", 3) ? 0 : atol(ans + 3);
	return ASSERT_TRUE(!strncmp(ans, "ok", 2), cmd);
}

/* k8sapi in the test's netns, or in the node's (in_node: with a weftd that
 * runs there to reach the pods' host-side veths). */
bool api_start(struct api *a, bool in_node)
{
	char bin[512], port[32], *argv[10];
	int in[2], out[2];

	snprintf(a->dir, sizeof(a->dir), "%s", tenv_dir());
	/* A throwaway CA and a server certificate for 127.0.0.1. */
	if (!ASSERT_OK(tenv_sh("cd %s && "
			       "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
			       "-keyout ca.key -out ca.crt -days 1 -subj /CN=weft-test-ca && "
			       "openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
			       "-keyout srv.key -out srv.csr -subj /CN=k8sapi && "
			       "printf 'subjectAltName=IP:127.0.0.1\\n' > san.ext && "
			       "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial "
			       "-out srv.crt -days 1 -extfile san.ext && printf 'token-one\\n' > token",
			       a->dir), "certificates"))
		return false;
	if (pipe(in) || pipe(out))
		return false;
	snprintf(bin, sizeof(bin), "%s/k8sapi", weft_test_bindir());
	a->pid = fork();
	if (a->pid == 0) {
		char cert[256], key[256], log[256];

		snprintf(cert, sizeof(cert), "%s/srv.crt", a->dir);
		snprintf(key, sizeof(key), "%s/srv.key", a->dir);
		snprintf(log, sizeof(log), "%s/requests.log", a->dir);
		dup2(in[0], 0);
		dup2(out[1], 1);
		if (in_node && tenv_enter("node", false))
			_exit(126);
		argv[0] = bin, argv[1] = "--cert", argv[2] = cert, argv[3] = "--key", argv[4] = key;
		argv[5] = "--token", argv[6] = "token-one", argv[7] = "--log", argv[8] = log;
		argv[9] = NULL;
		execv(bin, argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	a->in = in[1];
	a->out = out[0];
	if (!ASSERT_TRUE(k8s_read_line(a->out, port, sizeof(port), 5000), "k8sapi port"))
		return false;
	/* The kubeconfig: CA as data (base64), token from a file (relative). */
	return ASSERT_OK(tenv_sh("cd %s && printf '%%s\\n' 'apiVersion: v1' 'kind: Config' "
				 "'current-context: test' 'clusters:' '- name: c' '  cluster:' "
				 "'    server: https://127.0.0.1:%s/' "
				 "\"    certificate-authority-data: $(base64 -w0 ca.crt)\" "
				 "'contexts:' '- name: other' '  context: {cluster: nope, user: nope}' "
				 "'- name: test' '  context: {cluster: c, user: u}' "
				 "'users:' '- name: u' '  user:' '    tokenFile: token' > kubeconfig && "
				 "printf 'datapath:\\n  cgroup: %s\\n  bpffs: %s\\nmetrics:\\n  listen: \"\"\\n' "
				 "> weft.yaml", a->dir, port, tenv_cgroup(), tenv_bpffs()),
			 "kubeconfig and weft.yaml");
}

