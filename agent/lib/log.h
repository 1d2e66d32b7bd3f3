/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* log: one line per event, "module: action: cause", to stderr. */
#ifndef WEFT_LOG_H
#define WEFT_LOG_H

enum weft_log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* The only mutable global of the agent. */
extern enum weft_log_level weft_log_level;

void weft_log(enum weft_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif /* WEFT_LOG_H */
