// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* The architecture picture in the tree is the rendering of its source. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"
#include "testenv.h"

#define DOT "docs/architecture.dot"
#define SVG "docs/architecture.svg"

TEST(unit, architecture_svg_is_the_rendering_of_the_dot)
{
	char cwd[512], out[4096];
	int st;

	if (access(DOT, R_OK) != 0)
		SKIP(DOT ": not found from %s", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
	if (system("command -v dot >/dev/null 2>&1") != 0)
		SKIP("dot not installed (make deps installs graphviz)");
	st = tenv_capture(out, sizeof(out), "dot -Tsvg " DOT " | cmp - " SVG " 2>&1");
	ASSERT_EQ(st, 0, "docs/architecture.svg differs from the rendering of docs/architecture.dot: run make docs");
	ASSERT_TRUE(!out[0], out);
}
