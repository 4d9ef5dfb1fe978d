/* The recent alerts: the last board.recent_per_desk of every desk, in the order the consumer read
 * them, which is what a newly opened page is sent first. */
#include "board/board_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void nd_board_ring_init(struct nd_board_ring *ring, size_t per_desk)
{
    memset(ring, 0, sizeof(*ring));
    ring->per_desk = per_desk ? per_desk : 1;
}

void nd_board_entry_free(struct nd_board_entry *entry)
{
    if (!entry)
        return;
    free(entry->alert);
    free(entry);
}

void nd_board_ring_free(struct nd_board_ring *ring)
{
    struct nd_board_entry *e = ring->head, *next;
    for (; e; e = next) {
        next = e->next;
        nd_board_entry_free(e);
    }
    free(ring->desks);
    memset(ring, 0, sizeof(*ring));
}

int nd_board_desk_wanted(const char *filter, const char *desk)
{
    return !filter || !*filter || (desk && !strcmp(filter, desk));
}

static struct ring_desk *desk_of(struct nd_board_ring *ring, const char *name)
{
    for (size_t i = 0; i < ring->ndesks; i++)
        if (!strcmp(ring->desks[i].name, name))
            return &ring->desks[i];
    ring->desks = realloc(ring->desks, (ring->ndesks + 1) * sizeof(*ring->desks));
    if (!ring->desks)
        abort();
    memset(&ring->desks[ring->ndesks], 0, sizeof(*ring->desks));
    snprintf(ring->desks[ring->ndesks].name, sizeof(ring->desks->name), "%s", name);
    return &ring->desks[ring->ndesks++];
}

struct nd_board_entry *nd_board_ring_add(struct nd_board_ring *ring, const char *desk,
                                         const char *story_id, int32_t partition, int64_t offset,
                                         const char *alert, size_t len)
{
    struct nd_board_entry *e = nd_xcalloc(1, sizeof(*e)), *old;
    struct ring_desk *d;

    snprintf(e->desk, sizeof(e->desk), "%s", desk);
    snprintf(e->story_id, sizeof(e->story_id), "%s", story_id ? story_id : "");
    e->partition = partition;
    e->offset = offset;
    e->alert = nd_strndup(alert, len);
    e->len = len;
    e->prev = ring->tail;
    if (ring->tail)
        ring->tail->next = e;
    else
        ring->head = e;
    ring->tail = e;

    d = desk_of(ring, e->desk);
    if (d->newest)
        d->newest->dnext = e;
    else
        d->oldest = e;
    d->newest = e;
    if (++d->n <= ring->per_desk)
        return NULL;
    old = d->oldest;
    d->oldest = old->dnext;
    if (!d->oldest)
        d->newest = NULL;
    d->n--;
    if (old->prev)
        old->prev->next = old->next;
    else
        ring->head = old->next;
    if (old->next)
        old->next->prev = old->prev;
    else
        ring->tail = old->prev;
    old->prev = old->next = old->dnext = NULL;
    return old;
}
