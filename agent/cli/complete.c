// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/*
 * cli: weft completion bash|zsh. The scripts are written from the tables
 * of main.c (commands, their options, the values an option takes), so they
 * cannot drift from what weft accepts; `weft map dump` completes the names
 * of the registry's maps.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/inspect.h"

/* Every option of cmd (or of any command: NULL), as bash words. */
static void bash_opts(const struct weft_cli_cmd *cmd, const struct weft_cli_opt *opts, size_t nopts,
		      uint32_t mask)
{
	bool first = true;

	for (size_t i = 0; i < nopts; i++) {
		if (!((cmd ? cmd->opts : mask) & (1u << i)))
			continue;
		printf("%s--%s", first ? "" : " ", opts[i].name);
		if (opts[i].short_name)
			printf(" -%c", opts[i].short_name);
		first = false;
	}
}

static void map_names(const char *sep)
{
	const char *names[64];
	size_t n = weft_cli_map_names(names, 64);

	for (size_t i = 0; i < n; i++)
		printf("%s%s", i ? sep : "", names[i]);
}

static void bash(const struct weft_cli_cmd *cmds, size_t ncmds, const struct weft_cli_opt *opts,
		 size_t nopts)
{
	uint32_t common = cmds[0].opts;

	for (size_t i = 1; i < ncmds; i++)
		common &= cmds[i].opts;
	printf("# bash completion for weft: source <(weft completion bash), or save it as\n"
	       "# /etc/bash_completion.d/weft\n"
	       "_weft() {\n"
	       "\tlocal cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}\n"
	       "\tlocal cmd= sub= n=0 i w words opts\n"
	       "\tfor ((i = 1; i < COMP_CWORD; i++)); do\n"
	       "\t\tw=${COMP_WORDS[i]}\n"
	       "\t\tcase $w in\n\t\t");
	for (size_t i = 0, first = 1; i < nopts; i++) {
		if (!opts[i].arg)
			continue;
		printf("%s--%s", first ? "" : "|", opts[i].name);
		if (opts[i].short_name)
			printf("|-%c", opts[i].short_name);
		first = 0;
	}
	printf(") ((i++)) ;;\n"
	       "\t\t-*) ;;\n"
	       "\t\t*) n=$((n + 1)); [[ $n == 1 ]] && cmd=$w; [[ $n == 2 ]] && sub=$w ;;\n"
	       "\t\tesac\n"
	       "\tdone\n"
	       "\tcase $prev in\n");
	for (size_t i = 0; i < nopts; i++) {
		if (!opts[i].arg)
			continue;
		printf("\t--%s", opts[i].name);
		if (opts[i].short_name)
			printf("|-%c", opts[i].short_name);
		if (!strcmp(opts[i].name, "bpffs"))
			printf(") COMPREPLY=($(compgen -d -- \"$cur\")); return ;;\n");
		else if (opts[i].values && strchr(opts[i].arg, ','))
			printf(")\n\t\tlocal pre=\n\t\t[[ $cur == *,* ]] && pre=${cur%%,*},\n"
			       "\t\tCOMPREPLY=($(compgen -P \"$pre\" -W \"%s\" -- \"${cur##*,}\")); return ;;\n",
			       opts[i].values);
		else if (opts[i].values)
			printf(") COMPREPLY=($(compgen -W \"%s\" -- \"$cur\")); return ;;\n",
			       opts[i].values);
		else
			printf(") return ;; # %s: the user's own\n", opts[i].arg);
	}
	printf("\tesac\n"
	       "\tcase $cmd in\n"
	       "\t'') words=\"");
	for (size_t i = 0; i < ncmds; i++)
		printf("%s%s", i ? " " : "", cmds[i].name);
	printf("\"; opts=\"");
	bash_opts(NULL, opts, nopts, common);
	printf("\" ;;\n");
	for (size_t i = 0; i < ncmds; i++) {
		printf("\t%s) opts=\"", cmds[i].name);
		bash_opts(&cmds[i], opts, nopts, 0);
		printf("\"");
		if (cmds[i].words)
			printf("; [[ $n == 1 ]] && words=\"%s\"", cmds[i].words);
		if (!strcmp(cmds[i].name, "map")) {
			printf("; [[ $n == 2 && $sub == dump ]] && words=\"");
			map_names(" ");
			printf("\"");
		}
		printf(" ;;\n");
	}
	printf("\tesac\n"
	       "\tif [[ $cur == -* ]]; then\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$opts\" -- \"$cur\"))\n"
	       "\telse\n"
	       "\t\tCOMPREPLY=($(compgen -W \"$words\" -- \"$cur\"))\n"
	       "\tfi\n"
	       "}\n"
	       "complete -F _weft weft\n");
}

/* s for inside '...' of a zsh spec: ' as '\'', and [ ] : escaped. */
static void zsh_text(const char *s)
{
	for (; *s; s++) {
		if (*s == '\'')
			printf("'\\''");
		else if (*s == '[' || *s == ']' || *s == ':')
			printf("\\%c", *s);
		else
			putchar(*s);
	}
}

/* The _arguments spec of one option. */
static void zsh_opt(const struct weft_cli_opt *o)
{
	printf("\t\t");
	if (o->short_name)
		printf("'(-%c --%s)'{-%c,--%s}'", o->short_name, o->name, o->short_name, o->name);
	else
		printf("'--%s", o->name);
	printf("[");
	zsh_text(o->help);
	printf("]");
	if (o->arg) {
		printf(":");
		for (const char *p = o->arg; *p; p++)
			if (*p != '[' && *p != ']' && *p != ':' && *p != '\'')
				putchar(*p);
		if (!strcmp(o->name, "bpffs"))
			printf(":_files -/");
		else if (o->values && strchr(o->arg, ','))
			printf(":_sequence compadd - %s", o->values);
		else if (o->values)
			printf(":(%s)", o->values);
		else
			printf(": ");
	}
	printf("' \\\n");
}

static void zsh(const struct weft_cli_cmd *cmds, size_t ncmds, const struct weft_cli_opt *opts,
		size_t nopts)
{
	printf("#compdef weft\n"
	       "# zsh completion for weft: source <(weft completion zsh), or save it as _weft\n"
	       "# in a directory of $fpath\n\n"
	       "_weft() {\n"
	       "\tlocal curcontext=$curcontext state line ret=1\n"
	       "\tlocal -a cmds\n"
	       "\tcmds=(\n");
	for (size_t i = 0; i < ncmds; i++) {
		printf("\t\t'%s:", cmds[i].name);
		zsh_text(cmds[i].summary);
		printf("'\n");
	}
	printf("\t)\n"
	       "\t_arguments -C \\\n");
	for (size_t i = 0; i < nopts; i++)
		if (!strcmp(opts[i].name, "bpffs") || !strcmp(opts[i].name, "help") ||
		    !strcmp(opts[i].name, "version"))
			zsh_opt(&opts[i]);
	printf("\t\t'1: :->cmd' '*:: :->args' && return 0\n"
	       "\tcase $state in\n"
	       "\tcmd) _describe -t commands 'weft command' cmds && ret=0 ;;\n"
	       "\targs)\n"
	       "\t\tcase $words[1] in\n");
	for (size_t i = 0; i < ncmds; i++) {
		printf("\t\t%s)\n\t\t\t_arguments \\\n", cmds[i].name);
		for (size_t j = 0; j < nopts; j++)
			if (cmds[i].opts & (1u << j)) {
				printf("\t");
				zsh_opt(&opts[j]);
			}
		if (cmds[i].words)
			printf("\t\t\t'1:%s:(%s)' \\\n", cmds[i].name, cmds[i].words);
		if (!strcmp(cmds[i].name, "map")) {
			printf("\t\t\t'2:map:(");
			map_names(" ");
			printf(")' \\\n");
		}
		printf("\t\t\t&& ret=0 ;;\n");
	}
	printf("\t\tesac ;;\n"
	       "\tesac\n"
	       "\treturn ret\n"
	       "}\n\n"
	       "if [ \"$funcstack[1]\" = \"_weft\" ]; then\n"
	       "\t_weft \"$@\"\n"
	       "else\n"
	       "\tcompdef _weft weft\n"
	       "fi\n");
}

int weft_completion(const char *shell, const struct weft_cli_cmd *cmds, size_t ncmds,
		    const struct weft_cli_opt *opts, size_t nopts)
{
	if (!strcmp(shell, "bash"))
		bash(cmds, ncmds, opts, nopts);
	else if (!strcmp(shell, "zsh"))
		zsh(cmds, ncmds, opts, nopts);
	else
		return WEFT_EXIT_USAGE;
	return fflush(stdout) ? WEFT_EXIT_ERROR : 0;
}
