/* Order statistics the benchmarks print: every figure is a median over runs (or a percentile of
 * latencies), so they share one comparison and one median. */
#ifndef ND_BENCH_STATS_H
#define ND_BENCH_STATS_H

#include <stdlib.h>

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Sorts v[0..n) in place; the mean of the middle two when n is even. */
static inline double median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

#endif
