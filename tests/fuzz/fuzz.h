/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * fuzz: libFuzzer targets, one per parser weft feeds with bytes it does not
 * control (tests/fuzz/README.md). Each file defines LLVMFuzzerTestOneInput;
 * what an input must not do beyond crashing (a property the parser
 * promises) is checked with FUZZ_ASSERT, which reports (a SUMMARY line) and
 * aborts: libFuzzer keeps the input as a crash.
 */
#ifndef WEFT_FUZZ_H
#define WEFT_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sanitizer/common_interface_defs.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define FUZZ_ASSERT(cond, what)                                                            \
	do {                                                                               \
		if (!(cond)) {                                                             \
			/* the sanitizers' report fd: -close_fd_mask=2 closes stderr */ \
			__sanitizer_report_error_summary("fuzz: " __FILE__ ": " what ": " #cond); \
			abort();                                                           \
		}                                                                          \
	} while (0)

#endif /* WEFT_FUZZ_H */
