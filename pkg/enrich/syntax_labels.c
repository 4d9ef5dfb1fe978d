/* The UD label sets of syntax.h: names and lookups. */
#include <string.h>

#include "enrich/syntax.h"

#define ND_SYN_NAME(id, name) name,
const char *const nd_upos_names[ND_UPOS_COUNT] = {"_", ND_UPOS_LIST(ND_SYN_NAME)};
const char *const nd_xpos_names[ND_XPOS_COUNT] = {"_", ND_XPOS_LIST(ND_SYN_NAME)};
const char *const nd_deprel_names[ND_DEP_COUNT] = {"_", ND_DEPREL_LIST(ND_SYN_NAME)};
#undef ND_SYN_NAME

static int find(const char *const *names, int count, const char *name, size_t len)
{
    for (int i = 1; i < count; i++)
        if (strlen(names[i]) == len && !memcmp(names[i], name, len))
            return i;
    return 0;
}

int nd_upos_from_name(const char *name, size_t len)
{
    return find(nd_upos_names, ND_UPOS_COUNT, name, len);
}

int nd_xpos_from_name(const char *name, size_t len)
{
    return find(nd_xpos_names, ND_XPOS_COUNT, name, len);
}

int nd_deprel_from_name(const char *name, size_t len)
{
    return find(nd_deprel_names, ND_DEP_COUNT, name, len);
}

enum nd_deprel nd_deprel_base(enum nd_deprel rel)
{
    const char *name, *colon;
    if (rel <= ND_DEP_NONE || rel >= ND_DEP_COUNT)
        return ND_DEP_NONE;
    name = nd_deprel_names[rel];
    colon = strchr(name, ':');
    return colon ? (enum nd_deprel)nd_deprel_from_name(name, (size_t)(colon - name)) : rel;
}
