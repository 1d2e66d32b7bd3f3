// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* out: tables for the terminal they go to (see out.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <wchar.h>
#include <sys/ioctl.h>

#include "cli/cli.h"
#include "cli/out.h"

#define GAP 2		/* spaces between columns */
#define MIN_CUT 6	/* a cuttable column keeps at least this many (or its header) */

void weft_out_detect(struct weft_out *o)
{
	const char *cols = getenv("COLUMNS"), *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	struct winsize ws = { 0 };
	char *end;
	long n;

	o->tty = isatty(STDOUT_FILENO);
	o->colour = o->tty && !(nc && *nc) && !(term && !strcmp(term, "dumb"));
	o->width = o->height = 0;
	if (o->tty && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0) {
		o->width = ws.ws_col;
		o->height = ws.ws_row;
	}
	if (cols && *cols) {
		errno = 0;
		n = strtol(cols, &end, 10);
		if (!*end && !errno && n > 0 && n < 100000)
			o->width = n;
	}
}

int weft_fmt_parse(const char *s, enum weft_fmt *fmt)
{
	static const struct {
		const char *name;
		enum weft_fmt fmt;
	} names[] = {
		{ "json", WEFT_FMT_JSON }, { "yaml", WEFT_FMT_YAML },
		{ "wide", WEFT_FMT_WIDE }, { "table", WEFT_FMT_TABLE },
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (!strcmp(s, names[i].name)) {
			*fmt = names[i].fmt;
			return 0;
		}
	}
	return -EINVAL;
}

/* --- text ------------------------------------------------------------------------ */

/* The next character of s (n bytes left): its length in bytes, and in
 * *cols its columns; *bad when it is printed as '?' (a control character,
 * not UTF-8, not printable). */
static size_t next_char(const char *s, size_t n, int *cols, bool *bad)
{
	mbstate_t st = { 0 };
	wchar_t wc;
	size_t k;
	int w;

	*bad = false;
	*cols = 1;
	if ((unsigned char)*s < 0x80) {
		*bad = (unsigned char)*s < 0x20 || *s == 0x7f;
		return 1;
	}
	k = mbrtowc(&wc, s, n, &st);
	if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
		/* not UTF-8 (or no UTF-8 locale): one byte, passed on as it is
		 * in the latter case */
		*bad = MB_CUR_MAX > 1;
		return 1;
	}
	w = wcwidth(wc);
	if (w < 0) {
		*bad = true;
		return k;
	}
	*cols = w;
	return k;
}

size_t weft_text_width(const char *s)
{
	size_t n = strlen(s), w = 0;
	int cols;
	bool bad;

	while (n) {
		size_t k = next_char(s, n, &cols, &bad);

		w += cols;
		s += k;
		n -= k;
	}
	return w;
}

/* Write s (len bytes) into f, control characters as '?', at most max
 * columns; if s is wider, max - 1 of them and '~'. Returns the columns
 * written. */
static size_t put_text(FILE *f, const char *s, size_t len, size_t max)
{
	size_t w = 0, total = 0, n = len;
	const char *p = s;
	int cols;
	bool bad, cut;

	if (!max)
		return 0;
	while (n) {
		size_t k = next_char(p, n, &cols, &bad);

		total += cols;
		p += k;
		n -= k;
	}
	cut = total > max;
	for (p = s, n = len; n;) {
		size_t k = next_char(p, n, &cols, &bad);

		if (cut && w + cols > max - 1)
			break;
		if (bad)
			fputc('?', f);
		else
			fwrite(p, 1, k, f);
		w += cols;
		p += k;
		n -= k;
	}
	if (cut && max) {
		fputc('~', f);
		w++;
	}
	return w;
}

/* --- tables ---------------------------------------------------------------------- */

struct cell {
	size_t off;		/* into text */
	enum weft_colour colour;
};

struct weft_table {
	const struct weft_out *o;
	const struct weft_col *cols;
	size_t ncols;
	char *text;		/* every cell, NUL-terminated one after the other */
	size_t tlen, tcap;
	struct cell *cells;	/* rows * ncols, row after row */
	size_t ncells, cap;
	size_t printed;		/* cells printed */
	size_t *width;		/* of each column; set at the first print */
	bool sized;
};

struct weft_table *weft_table_new(const struct weft_out *o, const struct weft_col *cols,
				  size_t ncols)
{
	struct weft_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->o = o;
	t->cols = cols;
	t->ncols = ncols;
	t->width = calloc(ncols, sizeof(*t->width));
	if (!t->width) {
		free(t);
		return NULL;
	}
	return t;
}

void weft_table_free(struct weft_table *t)
{
	if (!t)
		return;
	free(t->text);
	free(t->cells);
	free(t->width);
	free(t);
}

void weft_table_cell(struct weft_table *t, enum weft_colour c, const char *s)
{
	size_t n = strlen(s) + 1;

	if (!t)
		return;
	/* out of memory: the row comes out short, print leaves it out */
	if (weft_grow(&t->text, &t->tcap, t->tlen + n, 1) ||
	    weft_grow(&t->cells, &t->cap, t->ncells + 1, sizeof(*t->cells)))
		return;
	memcpy(t->text + t->tlen, s, n);
	t->cells[t->ncells++] = (struct cell){ t->tlen, c };
	t->tlen += n;
}

void weft_table_cellf(struct weft_table *t, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	weft_table_cell(t, WEFT_C_NONE, buf);
}

static bool shown(const struct weft_table *t, size_t c)
{
	return !(t->cols[c].flags & WEFT_COL_WIDE) || t->o->fmt == WEFT_FMT_WIDE;
}

/* Columns a cell takes on one line (a list: its items joined by ", "). */
static size_t cell_width(const struct weft_table *t, size_t c, const char *s, size_t *widest)
{
	size_t w = 0, items = 0;
	char item[1024];

	*widest = 0;
	if (!(t->cols[c].flags & WEFT_COL_LIST))
		return *widest = weft_text_width(s);
	for (const char *p = s;; items++) {
		size_t n = strcspn(p, "\n"), iw;

		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		iw = weft_text_width(item);
		if (iw > *widest)
			*widest = iw;
		w += iw + (items ? 2 : 0);
		if (!p[n])
			break;
		p += n + 1;
	}
	return w;
}

/* Take up to want columns from the list column, down to floor. */
static size_t shrink_list(struct weft_table *t, size_t list, size_t floor, size_t want)
{
	size_t can = list < t->ncols && t->width[list] > floor ? t->width[list] - floor : 0;
	size_t cut = want < can ? want : can;

	if (list < t->ncols)
		t->width[list] -= cut;
	return cut;
}

/* Size the columns from the header and the rows so far, then fit the
 * width: a list column wraps down to two items a line, then the widest
 * cuttable column loses a column at a time down to its floor, then the list
 * wraps down to its widest item. */
static void size_columns(struct weft_table *t)
{
	size_t total = 0, nshown = 0, floor_list = 0, list = t->ncols;

	for (size_t c = 0; c < t->ncols; c++) {
		t->width[c] = weft_text_width(t->cols[c].head);
		if (t->width[c] < t->cols[c].min)
			t->width[c] = t->cols[c].min;
	}
	for (size_t i = 0; i + t->ncols <= t->ncells; i += t->ncols) {
		for (size_t c = 0; c < t->ncols; c++) {
			size_t widest, w = cell_width(t, c, t->text + t->cells[i + c].off, &widest);

			if (w > t->width[c])
				t->width[c] = w;
			if ((t->cols[c].flags & WEFT_COL_LIST) && widest > floor_list)
				floor_list = widest;
		}
	}
	for (size_t c = 0; c < t->ncols; c++) {
		if (!shown(t, c))
			continue;
		total += t->width[c] + (nshown++ ? GAP : 0);
		if (t->cols[c].flags & WEFT_COL_LIST)
			list = c;
	}
	t->sized = true;
	if (!t->o->width || total <= t->o->width)
		return;
	if (list < t->ncols && weft_text_width(t->cols[list].head) > floor_list)
		floor_list = weft_text_width(t->cols[list].head);
	total -= shrink_list(t, list, 2 * floor_list + 2 > 40 ? 2 * floor_list + 2 : 40,
			     total - t->o->width);
	while (total > t->o->width) {
		size_t best = t->ncols;

		for (size_t c = 0; c < t->ncols; c++) {
			size_t head = weft_text_width(t->cols[c].head);
			size_t floor = head > MIN_CUT ? head : MIN_CUT;

			if (shown(t, c) && (t->cols[c].flags & WEFT_COL_CUT) && t->width[c] > floor &&
			    (best == t->ncols || t->width[c] > t->width[best]))
				best = c;
		}
		if (best == t->ncols)
			break;
		t->width[best]--;
		total--;
	}
	if (total > t->o->width)
		total -= shrink_list(t, list, floor_list, total - t->o->width);
	/* what still does not fit makes longer lines */
}

static const char *const colours[] = {
	[WEFT_C_RED] = "\033[31m", [WEFT_C_GREEN] = "\033[32m", [WEFT_C_YELLOW] = "\033[33m",
	[WEFT_C_BOLD] = "\033[1m",
};

/* A list cell at column start: items joined by ", ", wrapped at width. */
static void put_list(const struct weft_table *t, const char *s, size_t start, size_t width)
{
	size_t at = 0;

	for (const char *p = s;;) {
		size_t n = strcspn(p, "\n");
		char item[1024];
		size_t iw;

		snprintf(item, sizeof(item), "%.*s", (int)n, p);
		iw = weft_text_width(item);
		if (p != s && at + 2 + iw > width) {
			printf(",\n%*s", (int)start, "");
			at = 0;
		} else if (p != s) {
			fputs(", ", stdout);
			at += 2;
		}
		at += put_text(stdout, item, n, t->o->width ? width > at ? width - at : 1 : (size_t)-1);
		if (!p[n])
			break;
		p += n + 1;
	}
}

/* One cell at column start, width w: the columns it took. */
static size_t put_cell(const struct weft_table *t, size_t c, const char *s, enum weft_colour colour,
		       size_t start, size_t w)
{
	bool col = t->o->colour && colour != WEFT_C_NONE;
	unsigned int flags = t->cols[c].flags;
	size_t need = weft_text_width(s), tw;

	if ((flags & WEFT_COL_RIGHT) && need < w) {
		printf("%*s", (int)(w - need), ""); /* the padding outside the colour */
		need = w;
	}
	if (col)
		fputs(colours[colour], stdout);
	if (flags & WEFT_COL_LIST) {
		put_list(t, s, start, w);
		tw = w;
	} else if (flags & WEFT_COL_RIGHT) {
		put_text(stdout, s, strlen(s), (size_t)-1);
		tw = need;
	} else {
		/* only a cuttable column is cut; the others are as wide as their
		 * cells but in a streamed table */
		tw = put_text(stdout, s, strlen(s), (flags & WEFT_COL_CUT) && t->o->width ? w : (size_t)-1);
	}
	if (col)
		fputs("\033[0m", stdout);
	return tw;
}

static void put_row(const struct weft_table *t, const char *const *text,
		    const enum weft_colour *colour)
{
	size_t last = 0, start = 0;

	/* no trailing blanks: the row ends at its last shown cell with text */
	for (size_t c = 0; c < t->ncols; c++)
		if (shown(t, c) && (*text[c] || !last))
			last = c;
	for (size_t c = 0; c < t->ncols; c++) {
		size_t w = t->width[c], tw;

		if (!shown(t, c))
			continue;
		tw = put_cell(t, c, text[c], colour[c], start, w);
		if (c == last)
			break;
		printf("%*s", (int)((tw < w ? w - tw : 0) + GAP), "");
		start += (tw > w ? tw : w) + GAP;
	}
	putchar('\n');
}

void weft_table_print(struct weft_table *t)
{
	const char *text[64];
	enum weft_colour colour[64];

	if (!t || t->ncols > 64)
		return;
	if (!t->sized) {
		size_columns(t);
		if (!t->o->no_headers) {
			for (size_t c = 0; c < t->ncols; c++) {
				text[c] = t->cols[c].head;
				colour[c] = WEFT_C_BOLD;
			}
			put_row(t, text, colour);
		}
	}
	for (; t->printed + t->ncols <= t->ncells; t->printed += t->ncols) {
		for (size_t c = 0; c < t->ncols; c++) {
			text[c] = t->text + t->cells[t->printed + c].off;
			colour[c] = t->cells[t->printed + c].colour;
		}
		put_row(t, text, colour);
	}
}
