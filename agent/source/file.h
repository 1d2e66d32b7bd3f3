/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* source/file: weft.yaml into the model. */
#ifndef WEFT_SOURCE_FILE_H
#define WEFT_SOURCE_FILE_H

#include <stddef.h>

#include "model/model.h"

/*
 * Parse weft.yaml into a model (datapath and metrics settings, and in file
 * mode the namespaces, endpoints, services and policies). Returns the model, or NULL with a message for people
 * in err ("weft.yaml:14:7: services[1].vip: not an IPv4 or IPv6 address").
 */
struct weft_model *weft_file_load(const char *path, char *err, size_t errlen);

/* The same for text in memory; name stands in for the file name in errors. */
struct weft_model *weft_file_parse(const char *text, size_t len, const char *name,
				      char *err, size_t errlen);

#endif /* WEFT_SOURCE_FILE_H */
