/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * out: how the weft CLI prints. A command builds its result once, either as
 * a document (a json-c tree) for -o json and -o yaml, or as the rows of a
 * table; this module prints them for the terminal it runs on.
 *
 * Documents (doc.c) carry "apiVersion": "weft.dev/v1" and a "kind". -o json
 * is json-c's serializer, -o yaml the same tree through libyaml's emitter:
 * strings are exact UTF-8 (bytes >= 0x80 pass through; a byte that is not
 * UTF-8 becomes U+FFFD), control characters are escaped by the libraries.
 *
 * Tables (table.c) size their columns to what they hold. The width to fit
 * is COLUMNS, else the terminal's; piped, there is none and every cell is
 * whole. A cell of a cuttable column that does not fit ends in '~'; a list
 * column wraps under itself. Colour only on a terminal, never with
 * NO_COLOR (or TERM=dumb). Control characters in names print as '?'.
 */
#ifndef WEFT_CLI_OUT_H
#define WEFT_CLI_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define WEFT_API_VERSION "weft.dev/v1"

enum weft_fmt {
	WEFT_FMT_TABLE,		/* the default */
	WEFT_FMT_WIDE,		/* the table with its wide columns */
	WEFT_FMT_JSON,
	WEFT_FMT_YAML,
};

/* What to print and where. */
struct weft_out {
	enum weft_fmt fmt;
	bool no_headers;	/* tables: no header line, no notes */
	bool tty;		/* stdout is a terminal */
	bool colour;		/* colour the tables */
	unsigned int width;	/* columns to fit; 0: none (piped) */
	unsigned int height;	/* rows of the terminal; 0: unknown or piped */
};

/* Fill tty, colour, width and height from stdout and the environment. */
void weft_out_detect(struct weft_out *o);

/* "json", "yaml", "wide" (and "table"): 0, or -EINVAL. */
int weft_fmt_parse(const char *s, enum weft_fmt *fmt);

static inline bool weft_out_is_doc(const struct weft_out *o)
{
	return o->fmt == WEFT_FMT_JSON || o->fmt == WEFT_FMT_YAML;
}

/* --- documents (doc.c) ------------------------------------------------------- */

/* A new document {"apiVersion", "kind"}. */
struct json_object *weft_doc_new(const char *kind);

/* A list document {"apiVersion", "kind", "items": []}; *items gets the array. */
struct json_object *weft_doc_list(const char *kind, struct json_object **items);

/* Members of an object. A NULL string is null; strings are made valid UTF-8. */
void weft_doc_str(struct json_object *obj, const char *key, const char *s);
void weft_doc_u64(struct json_object *obj, const char *key, uint64_t v);
void weft_doc_i64(struct json_object *obj, const char *key, int64_t v);
void weft_doc_bool(struct json_object *obj, const char *key, bool v);

/* A new object or array under key of an object, or appended to an array
 * (key NULL). */
struct json_object *weft_doc_obj(struct json_object *parent, const char *key);
struct json_object *weft_doc_arr(struct json_object *parent, const char *key);

/* A string value, valid UTF-8 (NULL: null). */
struct json_object *weft_doc_strval(const char *s);

/* Print doc as o->fmt says and free it: JSON indented (one line with
 * line = true, for streams of documents), YAML as one document starting
 * with "---". 0, or WEFT_EXIT_ERROR after saying why (stdout gone). */
int weft_doc_print(const struct weft_out *o, struct json_object *doc, bool line);

/* --- tables (table.c) -------------------------------------------------------- */

enum {
	WEFT_COL_RIGHT = 1,	/* right-aligned (numbers) */
	WEFT_COL_CUT = 2,	/* may be cut to fit the width, ending in '~' */
	WEFT_COL_LIST = 4,	/* the last column: '\n'-separated items, wrapped */
	WEFT_COL_WIDE = 8,	/* shown with -o wide only */
};

enum weft_colour { WEFT_C_NONE, WEFT_C_RED, WEFT_C_GREEN, WEFT_C_YELLOW, WEFT_C_BOLD };

struct weft_col {
	const char *head;
	unsigned int flags;	/* WEFT_COL_* */
	unsigned int min;	/* streamed tables: the width before any row */
};

struct weft_table;

/* A table of ncols columns (cols must outlive it). NULL on no memory. */
struct weft_table *weft_table_new(const struct weft_out *o, const struct weft_col *cols,
				  size_t ncols);

/* The next cell of the current row (a row is full after ncols cells, the
 * wide ones included). */
void weft_table_cell(struct weft_table *t, enum weft_colour c, const char *s);
void weft_table_cellf(struct weft_table *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Print the rows added since the last print (the header first, unless
 * no_headers). The first print sizes the columns: a streamed table (rows
 * printed as they come) keeps those widths. */
void weft_table_print(struct weft_table *t);
void weft_table_free(struct weft_table *t);

/* Columns s takes on a terminal (UTF-8; a control character or a byte that
 * is not UTF-8 takes one, shown as '?'). */
size_t weft_text_width(const char *s);

#endif /* WEFT_CLI_OUT_H */
