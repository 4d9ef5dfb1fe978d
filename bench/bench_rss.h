/* Resident set size of this process, for the benchmarks that report memory. Header-only. */
#ifndef ND_BENCH_RSS_H
#define ND_BENCH_RSS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* VmRSS from /proc/self/status in kB; -1 when unknown. */
static inline long rss_kb(void)
{
    char line[256];
    long kb = -1;
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return -1;
    while (fgets(line, sizeof(line), fp))
        if (!strncmp(line, "VmRSS:", 6))
            kb = atol(line + 6);
    fclose(fp);
    return kb;
}

#endif
