// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fuzz target kubeconfig: a kubeconfig's text (source/k8s/watch.c,
 * weft_k8s_kubeconfig_parse, what weft_k8s_kubeconfig reads from a file). */
#include <string.h>

#include "fuzz.h"
#include "lib/log.h"
#include "source/k8s/internal.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weft_log_level = LOG_ERROR;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct weft_k8s_conn c;
	char err[512] = "";
	int ret = weft_k8s_kubeconfig_parse((const char *)data, size, "/etc/weft/kubeconfig", &c,
					    err, sizeof(err));

	if (ret) {
		FUZZ_ASSERT(err[0], "a refused kubeconfig says why");
		FUZZ_ASSERT(!c.server && !c.token && !c.ca_data, "nothing kept on failure");
		return 0;
	}
	FUZZ_ASSERT(c.server && !strncmp(c.server, "https://", 8), "an https server");
	weft_k8s_conn_free(&c);
	return 0;
}
