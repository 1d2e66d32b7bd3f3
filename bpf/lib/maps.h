/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Every map of weft's datapath, generated from the registry (weft/maps.h).
 * bpf/maps.bpf.c defines WEFT_DEFINE_MAPS before including this file and so
 * holds the only definitions; every other .bpf.c gets extern declarations
 * of the identical type, which `bpftool gen object` resolves when it links
 * the objects into build/weft.bpf.o. Sizes are defaults: weftd sets the
 * real ones with bpf_map__set_max_entries().
 */
#ifndef WEFT_BPF_MAPS_H
#define WEFT_BPF_MAPS_H

#include <bpf/bpf_helpers.h>

#include "weft/maps.h"

#ifdef WEFT_DEFINE_MAPS
#define WEFT_MAP_STORAGE
#else
#define WEFT_MAP_STORAGE extern
#endif

#define WEFT_MAPDEF(name_, type_, key_, value_, max_, flags_)	\
	WEFT_MAP_STORAGE struct {				\
		__uint(type, type_);				\
		__type(key, key_);				\
		__type(value, value_);				\
		__uint(max_entries, max_);			\
		__uint(map_flags, flags_);			\
	} name_ SEC(".maps")

/* One definition per map type of the registry: key/value maps alike; a ring
 * buffer has no key or value. */
#define WEFT_MAPDEF_HASH(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_HASH, k, v, m, f)
#define WEFT_MAPDEF_LRU_HASH(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_LRU_HASH, k, v, m, f)
#define WEFT_MAPDEF_PERCPU_HASH(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_PERCPU_HASH, k, v, m, f)
#define WEFT_MAPDEF_ARRAY(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_ARRAY, k, v, m, f)
#define WEFT_MAPDEF_PERCPU_ARRAY(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_PERCPU_ARRAY, k, v, m, f)
#define WEFT_MAPDEF_LPM_TRIE(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_LPM_TRIE, k, v, m, f)
#define WEFT_MAPDEF_SOCKHASH(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_SOCKHASH, k, v, m, f)
#define WEFT_MAPDEF_SK_STORAGE(n, k, v, m, f) WEFT_MAPDEF(n, BPF_MAP_TYPE_SK_STORAGE, k, v, m, f)
/* A map of maps: __u32 keys, values an inner map of the type n##_inner. */
#define WEFT_MAPDEF_OF_MAPS(n, t, k, m, f)			\
	WEFT_MAP_STORAGE struct {				\
		__uint(type, t);				\
		__type(key, k);					\
		__uint(max_entries, m);				\
		__uint(map_flags, f);				\
		__array(values, struct n##_inner);		\
	} n SEC(".maps")
#define WEFT_MAPDEF_HASH_OF_MAPS(n, k, v, m, f) WEFT_MAPDEF_OF_MAPS(n, BPF_MAP_TYPE_HASH_OF_MAPS, k, m, f)
#define WEFT_MAPDEF_ARRAY_OF_MAPS(n, k, v, m, f) WEFT_MAPDEF_OF_MAPS(n, BPF_MAP_TYPE_ARRAY_OF_MAPS, k, m, f)
#define WEFT_MAPDEF_RINGBUF(n, k, v, m, f)		\
	WEFT_MAP_STORAGE struct {			\
		__uint(type, BPF_MAP_TYPE_RINGBUF);	\
		__uint(max_entries, m);			\
	} n SEC(".maps")

/* The inner maps of the maps of maps: their type, key, value and default
 * size (weftd creates them with the configured size, see abi.h). Sizes, not
 * BTF types: clang leaves a struct reached only through the inner map's
 * definition as a forward declaration, which the linker cannot size. */
#define WEFT_CT_INNER						\
	{							\
		__uint(type, BPF_MAP_TYPE_LRU_HASH);		\
		__uint(key_size, sizeof(struct weft_ct_key));	\
		__uint(value_size, sizeof(struct weft_ct_val));	\
		__uint(max_entries, WEFT_DEF_max_conntrack);	\
	}
struct weft_ct_egress_inner WEFT_CT_INNER;
struct weft_ct_ingress_inner WEFT_CT_INNER;

#define WEFT_X(id, name, type, key, value, knob, extra, flags) \
	WEFT_MAPDEF_##type(name, key, value, WEFT_DEF_##knob + (extra), flags);
WEFT_MAP_LIST(WEFT_X)
#undef WEFT_X

/* weftd's own, outside the registry: filled only while the socket
 * iterators of gone.bpf.c run (weft/abi.h, weft_gone_key); never pinned. */
WEFT_MAPDEF(weft_gone, BPF_MAP_TYPE_HASH, struct weft_gone_key, __u32, WEFT_GONE_MAX, 0);

/* Count one event in weft_stats. */
static __always_inline void weft_stat_inc(__u32 stat)
{
	__u64 *c = bpf_map_lookup_elem(&weft_stats, &stat);

	if (c)
		*c += 1;
}

#endif /* WEFT_BPF_MAPS_H */
