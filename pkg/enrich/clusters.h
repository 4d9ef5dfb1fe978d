/* clusters: word cluster ids, the tagger's word representations learnt from unlabelled text.
 *
 * models/clusters.tsv (scripts/build_clusters.py) gives each word ids at ND_CL_LEVELS granularities
 * (64, 256 and 1024 k-means clusters of word vectors, and the vector row itself, 20,000 ids). The
 * trainer reads the TSV and embeds the table in the model file, so a model always travels with the
 * clusters it was trained on. Read-only once built: any number of threads may look words up. */
#ifndef ND_CLUSTERS_H
#define ND_CLUSTERS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/core.h"

#define ND_CL_LEVELS 4

struct nd_clusters;

/* Read a clusters.tsv. NULL with errstr filled on failure. */
struct nd_clusters *nd_clusters_load_tsv(const char *path, char *errstr, size_t errsz);
/* Read the model file's section at data[0..len): u32 count, then count of (u64 key, u16 ids[4]).
 * Sets *used to the bytes read. NULL with errstr filled when it is truncated or corrupt. */
struct nd_clusters *nd_clusters_read(const char *data, size_t len, size_t *used, char *errstr,
                                     size_t errsz);
/* Write the section nd_clusters_read reads; cl may be NULL (an empty section). */
void nd_clusters_write(const struct nd_clusters *cl, FILE *fp);
void nd_clusters_destroy(struct nd_clusters *cl);

/* The ids of token s[0..len): of the exact string, else (for a token with capitals) of its
 * title-case form ("ZIDANE" -> "Zidane"), else of its lower case. Returns 0, ids untouched, when the
 * word has none; cl may be NULL. */
int nd_clusters_get(const struct nd_clusters *cl, const char *s, size_t len,
                    uint16_t ids[ND_CL_LEVELS]);
size_t nd_clusters_size(const struct nd_clusters *cl);

#endif
