#include "story/event.h"

#include <stdlib.h>
#include <string.h>

#include "core/core.h"

/* A key given as a string literal: its length is known at compile time. */
#define SET_NEW(obj, lit, value)                                                                   \
    json_object_setn_new_nocheck((obj), "" lit "", sizeof(lit) - 1, (value))

struct nd_event *nd_event_list_add(struct nd_event_list *list)
{
    if (list->n == list->cap) {
        size_t cap = list->cap ? list->cap * 2 : 16;
        struct nd_event *v = realloc(list->v, cap * sizeof(*v));
        if (!v)
            return NULL;
        list->v = v;
        list->cap = cap;
    }
    memset(&list->v[list->n], 0, sizeof(list->v[0]));
    return &list->v[list->n++];
}

static void actors_free(struct nd_event_actor *a, int n)
{
    for (int k = 0; k < n; k++) {
        free(a[k].name);
        free(a[k].text);
    }
}

void nd_event_list_clear(struct nd_event_list *list)
{
    for (size_t i = 0; i < list->n; i++) {
        struct nd_event *ev = &list->v[i];
        actors_free(ev->source, ev->nsource);
        actors_free(ev->target, ev->ntarget);
        free(ev->trigger);
        free(ev->quote);
    }
    free(list->v);
    memset(list, 0, sizeof(*list));
}

void nd_event_list_mark(struct nd_event_list *list, double min_confidence)
{
    for (size_t i = 0; i < list->n; i++)
        list->v[i].below_threshold = list->v[i].confidence < min_confidence;
}

size_t nd_event_list_count_published(const struct nd_event_list *list)
{
    size_t n = 0;
    for (size_t i = 0; i < list->n; i++)
        n += !list->v[i].below_threshold;
    return n;
}

static json_t *span_json(uint32_t start, uint32_t end)
{
    json_t *obj = json_object();
    SET_NEW(obj, "start", json_integer((json_int_t)start));
    SET_NEW(obj, "end", json_integer((json_int_t)end));
    return obj;
}

static json_t *actor_json(const struct nd_event_actor *a)
{
    json_t *obj = json_object();
    SET_NEW(obj, "code", json_string(a->code));
    if (a->sector[0])
        SET_NEW(obj, "sector", json_string(a->sector));
    if (a->name)
        SET_NEW(obj, "name", json_string(a->name));
    if (a->implied)
        SET_NEW(obj, "implied", json_true());
    if (a->text) {
        SET_NEW(obj, "text", json_string(a->text));
        SET_NEW(obj, "start", json_integer((json_int_t)a->start));
        SET_NEW(obj, "end", json_integer((json_int_t)a->end));
    }
    return obj;
}

static json_t *actors_json(const struct nd_event_actor *a, int n)
{
    json_t *arr = json_array();
    for (int k = 0; k < n && k < ND_EVENT_ACTORS; k++)
        json_array_append_new(arr, actor_json(&a[k]));
    return arr;
}

json_t *nd_event_to_json(const struct nd_event *ev)
{
    json_t *obj = json_object(), *trig;
    SET_NEW(obj, "type", json_string(ev->type));
    SET_NEW(obj, "cameo", json_string(ev->cameo));
    SET_NEW(obj, "source", actors_json(ev->source, ev->nsource));
    SET_NEW(obj, "target", actors_json(ev->target, ev->ntarget));
    SET_NEW(obj, "sentence", span_json(ev->sent_start, ev->sent_end));
    trig = json_object();
    if (ev->trigger)
        SET_NEW(trig, "text", json_string(ev->trigger));
    SET_NEW(trig, "start", json_integer((json_int_t)ev->trig_start));
    SET_NEW(trig, "end", json_integer((json_int_t)ev->trig_end));
    SET_NEW(obj, "trigger", trig);
    if (ev->quote)
        SET_NEW(obj, "quote", json_string(ev->quote));
    SET_NEW(obj, "status", json_string(ev->status == ND_EVENT_PLANNED ? "planned" : "reported"));
    SET_NEW(obj, "intensity", json_real(ev->intensity));
    SET_NEW(obj, "confidence", json_real(ev->confidence));
    if (ev->below_threshold)
        SET_NEW(obj, "below_threshold", json_true());
    return obj;
}

json_t *nd_event_list_to_json(const struct nd_event_list *list)
{
    json_t *arr = json_array();
    for (size_t i = 0; i < list->n; i++)
        json_array_append_new(arr, nd_event_to_json(&list->v[i]));
    return arr;
}

/* --- reading upstream JSON ----------------------------------------------------------------------
 */

static const char *get_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

static uint32_t get_u32(const json_t *obj, const char *key)
{
    json_int_t v = json_integer_value(json_object_get(obj, key));
    return v<0 ? 0 : v>(json_int_t) UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void copy_str(char *dst, size_t sz, const char *src)
{
    size_t n = src ? strnlen(src, sz - 1) : 0;
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

static int actors_from_json(struct nd_event_actor *out, const json_t *arr)
{
    size_t i;
    const json_t *a;
    int n = 0;
    json_array_foreach(arr, i, a)
    {
        struct nd_event_actor *actor = &out[n];
        if (!json_is_object(a))
            continue;
        if (n == ND_EVENT_ACTORS)
            break;
        copy_str(actor->code, sizeof(actor->code), get_str(a, "code"));
        copy_str(actor->sector, sizeof(actor->sector), get_str(a, "sector"));
        actor->name = get_str(a, "name") ? nd_strdup(get_str(a, "name")) : NULL;
        actor->text = get_str(a, "text") ? nd_strdup(get_str(a, "text")) : NULL;
        actor->start = get_u32(a, "start");
        actor->end = get_u32(a, "end");
        actor->implied = json_is_true(json_object_get(a, "implied"));
        n++;
    }
    return n;
}

size_t nd_event_list_from_json(struct nd_event_list *list, const json_t *arr)
{
    size_t i;
    const json_t *e;
    nd_event_list_clear(list);
    list->set = 1;
    json_array_foreach(arr, i, e)
    {
        struct nd_event *ev;
        const json_t *trig = json_object_get(e, "trigger"), *sent = json_object_get(e, "sentence");
        if (!json_is_object(e) || !get_str(e, "type") || !(ev = nd_event_list_add(list)))
            continue;
        copy_str(ev->type, sizeof(ev->type), get_str(e, "type"));
        copy_str(ev->cameo, sizeof(ev->cameo), get_str(e, "cameo"));
        ev->nsource = actors_from_json(ev->source, json_object_get(e, "source"));
        ev->ntarget = actors_from_json(ev->target, json_object_get(e, "target"));
        ev->sent_start = get_u32(sent, "start");
        ev->sent_end = get_u32(sent, "end");
        ev->trigger = get_str(trig, "text") ? nd_strdup(get_str(trig, "text")) : NULL;
        ev->trig_start = get_u32(trig, "start");
        ev->trig_end = get_u32(trig, "end");
        ev->quote = get_str(e, "quote") ? nd_strdup(get_str(e, "quote")) : NULL;
        ev->status = get_str(e, "status") && !strcmp(get_str(e, "status"), "planned")
                         ? ND_EVENT_PLANNED
                         : ND_EVENT_REPORTED;
        ev->intensity = json_number_value(json_object_get(e, "intensity"));
        /* an upstream event without a confidence is taken as its source gave it: published */
        ev->confidence = json_is_number(json_object_get(e, "confidence"))
                             ? json_number_value(json_object_get(e, "confidence"))
                             : 1.0;
        ev->below_threshold = json_is_true(json_object_get(e, "below_threshold"));
    }
    return list->n;
}
