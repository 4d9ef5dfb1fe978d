/* Shared by the benchmarks that need Kafka: a broker of their own (tests/kafka/broker.sh) unless
 * one is given on the command line. Header-only: each bench is one executable. */
#ifndef ND_BENCH_BROKER_H
#define ND_BENCH_BROKER_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Start a broker in a new folder under /tmp; its folder goes to dir (>= 64 bytes) and its address
 * to brokers. 0 on success. */
static inline int bench_broker_start(char *dir, size_t dirsz, char *brokers, size_t brokerssz)
{
    char cmd[8192];
    FILE *fp;
    snprintf(dir, dirsz, "/tmp/newsd-bench-kafka-XXXXXX"); /* mkdtemp's template */
    if (!mkdtemp(dir))
        return -1;
    snprintf(cmd, sizeof(cmd), "%s/tests/kafka/broker.sh start %s >&2", NEWSD_SOURCE_DIR, dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd), "%s/bootstrap", dir);
    if (!(fp = fopen(cmd, "r")))
        return -1;
    if (!fgets(brokers, (int)brokerssz, fp)) {
        fclose(fp);
        return -1;
    }
    fclose(fp);
    brokers[strcspn(brokers, "\n")] = '\0';
    return 0;
}

static inline int bench_broker_stop(const char *dir)
{
    char cmd[8192];
    snprintf(cmd, sizeof(cmd), "%s/tests/kafka/broker.sh stop %s >&2; rm -rf %s", NEWSD_SOURCE_DIR,
             dir, dir);
    return system(cmd) == 0 ? 0 : -1;
}

#endif
