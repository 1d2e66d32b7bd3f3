// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
/* out: documents, printed as JSON (json-c) or YAML (libyaml). See out.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <json-c/json.h>
#include <yaml.h>

#include "cli/inspect.h"
#include "cli/out.h"

/* s with every byte that does not start a UTF-8 character replaced by
 * U+FFFD: s itself when it is valid, else a malloc'ed copy. NULL on no
 * memory. mbrtowc reads UTF-8 under the C.UTF-8 LC_CTYPE main() sets. */
static const char *utf8_valid(const char *s, char **copy)
{
	size_t n = strlen(s), off = 0, k;
	mbstate_t st = { 0 };
	char *c = NULL;
	size_t clen = 0;

	*copy = NULL;
	if (MB_CUR_MAX == 1)
		return s; /* no UTF-8 locale: pass the bytes on */
	while (off < n) {
		k = mbrtowc(NULL, s + off, n - off, &st);
		if (k == (size_t)-1 || k == (size_t)-2) {
			if (!c) {
				c = malloc(3 * n + 1);
				if (!c)
					return NULL;
				memcpy(c, s, off);
				clen = off;
			}
			memcpy(c + clen, "\xef\xbf\xbd", 3);
			clen += 3;
			off++;
			memset(&st, 0, sizeof(st));
			continue;
		}
		if (c)
			memcpy(c + clen, s + off, k);
		clen += k;
		off += k;
	}
	if (!c)
		return s;
	c[clen] = 0;
	*copy = c;
	return c;
}

struct json_object *weft_doc_strval(const char *s)
{
	struct json_object *v;
	const char *u;
	char *copy;

	if (!s)
		return NULL;
	u = utf8_valid(s, &copy);
	v = u ? json_object_new_string(u) : NULL;
	free(copy);
	return v;
}

struct json_object *weft_doc_new(const char *kind)
{
	struct json_object *doc = json_object_new_object();

	weft_doc_str(doc, "apiVersion", WEFT_API_VERSION);
	weft_doc_str(doc, "kind", kind);
	return doc;
}

struct json_object *weft_doc_list(const char *kind, struct json_object **items)
{
	struct json_object *doc = weft_doc_new(kind);

	*items = weft_doc_arr(doc, "items");
	return doc;
}

/* Add v under key of an object, or to an array (key NULL). */
static struct json_object *put(struct json_object *parent, const char *key, struct json_object *v)
{
	if (key)
		json_object_object_add(parent, key, v);
	else
		json_object_array_add(parent, v);
	return v;
}

void weft_doc_str(struct json_object *obj, const char *key, const char *s)
{
	put(obj, key, weft_doc_strval(s));
}

void weft_doc_u64(struct json_object *obj, const char *key, uint64_t v)
{
	put(obj, key, json_object_new_uint64(v));
}

void weft_doc_i64(struct json_object *obj, const char *key, int64_t v)
{
	put(obj, key, json_object_new_int64(v));
}

void weft_doc_bool(struct json_object *obj, const char *key, bool v)
{
	put(obj, key, json_object_new_boolean(v));
}

struct json_object *weft_doc_obj(struct json_object *parent, const char *key)
{
	return put(parent, key, json_object_new_object());
}

struct json_object *weft_doc_arr(struct json_object *parent, const char *key)
{
	return put(parent, key, json_object_new_array());
}

/* --- YAML ------------------------------------------------------------------------ */

/* Can a string be a plain scalar that every YAML reader (1.1 or 1.2) reads
 * back as that string? Not if it reads as null, a bool, a number or a
 * time; the emitter still quotes what plain syntax cannot hold. */
static bool yaml_plain_ok(const char *s)
{
	static const char *const words[] = {
		"null", "Null", "NULL", "~", "true", "True", "TRUE", "false", "False", "FALSE",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
		"y", "Y", "n", "N", "<<", "=",
	};
	const char *p = s;

	if (!*s)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return false;
	if (*p == '-' || *p == '+')
		p++;
	if (*p == '.')
		p++;
	/* 12, 1.5, .5, -3, 0x1f, 12:30, 2024-01-01, .inf, .nan */
	return !(*p >= '0' && *p <= '9') && strncasecmp(s, ".inf", 4) && strncasecmp(s, "-.inf", 5) &&
	       strncasecmp(s, "+.inf", 5) && strncasecmp(s, ".nan", 4);
}

static int emit(yaml_emitter_t *e, yaml_event_t *ev)
{
	return yaml_emitter_emit(e, ev) ? 0 : -EIO;
}

static int emit_scalar(yaml_emitter_t *e, const char *text, bool string)
{
	yaml_event_t ev;
	yaml_scalar_style_t style = !string || yaml_plain_ok(text) ? YAML_PLAIN_SCALAR_STYLE
								   : YAML_DOUBLE_QUOTED_SCALAR_STYLE;

	/* plain_implicit for strings only when plain reads back as a string */
	if (!yaml_scalar_event_initialize(&ev, NULL, NULL, (yaml_char_t *)text, (int)strlen(text),
					  style == YAML_PLAIN_SCALAR_STYLE, string, style))
		return -ENOMEM;
	return emit(e, &ev);
}

static int emit_node(yaml_emitter_t *e, struct json_object *v)
{
	yaml_event_t ev;
	int err = 0;

	switch (json_object_get_type(v)) {
	case json_type_object:
		if (!yaml_mapping_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_MAPPING_STYLE))
			return -ENOMEM;
		err = emit(e, &ev);
		json_object_object_foreach(v, key, val) {
			if (!err)
				err = emit_scalar(e, key, true);
			if (!err)
				err = emit_node(e, val);
		}
		if (!err && !yaml_mapping_end_event_initialize(&ev))
			return -ENOMEM;
		return err ? err : emit(e, &ev);
	case json_type_array:
		if (!yaml_sequence_start_event_initialize(&ev, NULL, NULL, 1, YAML_BLOCK_SEQUENCE_STYLE))
			return -ENOMEM;
		err = emit(e, &ev);
		for (size_t i = 0; !err && i < json_object_array_length(v); i++)
			err = emit_node(e, json_object_array_get_idx(v, i));
		if (!err && !yaml_sequence_end_event_initialize(&ev))
			return -ENOMEM;
		return err ? err : emit(e, &ev);
	case json_type_string:
		return emit_scalar(e, json_object_get_string(v), true);
	case json_type_null:
		return emit_scalar(e, "null", false);
	default: /* int, bool, double: as JSON writes them, which YAML reads */
		return emit_scalar(e, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), false);
	}
}

static int yaml_print(struct json_object *doc)
{
	yaml_emitter_t e;
	yaml_event_t ev;
	int err;

	if (!yaml_emitter_initialize(&e))
		return -ENOMEM;
	yaml_emitter_set_output_file(&e, stdout);
	yaml_emitter_set_unicode(&e, 1);	/* UTF-8 as it is, not \u escapes */
	yaml_emitter_set_width(&e, -1);		/* no folding of long strings */
	yaml_emitter_set_indent(&e, 2);
	err = yaml_stream_start_event_initialize(&ev, YAML_UTF8_ENCODING) ? emit(&e, &ev) : -ENOMEM;
	if (!err)
		err = yaml_document_start_event_initialize(&ev, NULL, NULL, NULL, 0) ? emit(&e, &ev)
										      : -ENOMEM;
	if (!err)
		err = emit_node(&e, doc);
	if (!err)
		err = yaml_document_end_event_initialize(&ev, 1) ? emit(&e, &ev) : -ENOMEM;
	if (!err)
		err = yaml_stream_end_event_initialize(&ev) ? emit(&e, &ev) : -ENOMEM;
	if (!err && !yaml_emitter_flush(&e))
		err = -EIO;
	if (err && e.problem)
		fprintf(stderr, "weft: yaml: %s\n", e.problem);
	yaml_emitter_delete(&e);
	return err;
}

int weft_doc_print(const struct weft_out *o, struct json_object *doc, bool line)
{
	int err = 0;

	if (o->fmt == WEFT_FMT_YAML) {
		err = yaml_print(doc);
	} else {
		int flags = JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE |
			    (line ? 0 : JSON_C_TO_STRING_PRETTY);
		const char *s = json_object_to_json_string_ext(doc, flags);

		if (!s || fputs(s, stdout) == EOF || putchar('\n') == EOF)
			err = -EIO;
	}
	json_object_put(doc);
	if (fflush(stdout) == EOF)
		err = -errno;
	return err ? WEFT_EXIT_ERROR : 0;
}
