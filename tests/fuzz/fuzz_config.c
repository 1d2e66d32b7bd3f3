// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* fuzz target config: weft.yaml text into the model (source/file.c,
 * weft_file_parse), and the model's own checks it runs. A refusal must say
 * why. */
#include <string.h>

#include "fuzz.h"
#include "lib/log.h"
#include "source/file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	weft_log_level = LOG_ERROR;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[512] = "";
	struct weft_model *m = weft_file_parse((const char *)data, size, "fuzz.yaml", err,
					       sizeof(err));

	if (!m) {
		FUZZ_ASSERT(err[0], "a refused file says why");
		return 0;
	}
	weft_model_free(m);
	return 0;
}
