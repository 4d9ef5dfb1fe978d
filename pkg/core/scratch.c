/* Per-thread scratch memory: a bump allocator for the temporary arrays of one call.
 *
 * Why: the enrich stage makes a few dozen temporary arrays of a kilobyte or more per story (token
 * tables, hash maps, the tagger's per-document block). Each malloc of that size makes glibc
 * consolidate its fastbins, which the thousands of small JSON nodes freed per story keep full, and
 * the small allocations after it then take the slow path. Bump allocation from a block the thread
 * keeps avoids both.
 *
 * Memory is a stack of chunks. A mark is a logical offset (bytes handed out, chunk tails skipped
 * included); release pops back to it. The thread keeps its first chunk (SCRATCH_KEEP bytes) between
 * calls and frees anything bigger, so a 5 MB story does not leave megabytes behind; the kept chunk
 * is freed when the thread exits.
 *
 * Under AddressSanitizer every allocation is its own exact-size chunk and release frees them all,
 * so an overrun of a scratch array is still caught. */
#include "core/core.h"

#include <pthread.h>
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SCRATCH_EXACT 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SCRATCH_EXACT 1
#endif
#endif
#ifndef SCRATCH_EXACT
#define SCRATCH_EXACT 0
#endif

#define SCRATCH_KEEP (512u << 10)
#define SCRATCH_ALIGN 16u

struct chunk {
    struct chunk *prev;
    size_t base; /* logical offset of data[0] */
    size_t size, used;
    alignas(SCRATCH_ALIGN) unsigned char data[];
};

static _Thread_local struct chunk *top;
static pthread_key_t exit_key;
static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void free_chain(void *p)
{
    struct chunk *c = p;
    while (c) {
        struct chunk *prev = c->prev;
        free(c);
        c = prev;
    }
}

static void make_key(void)
{
    /* a kept chunk outlives calls: free it when its thread ends */
    if (pthread_key_create(&exit_key, free_chain))
        exit_key = 0;
}

size_t nd_scratch_mark(void)
{
    return top ? top->base + top->used : 0;
}

void *nd_scratch_alloc(size_t n)
{
    size_t need = SCRATCH_EXACT ? n : (n + SCRATCH_ALIGN - 1) & ~(size_t)(SCRATCH_ALIGN - 1);
    struct chunk *c;
    void *p;

    if (need < n || need > ((size_t)-1 >> 2))
        return NULL;
    if (!SCRATCH_EXACT && top && top->size - top->used >= need) {
        p = top->data + top->used;
        top->used += need;
        return p;
    }
    {
        size_t size = SCRATCH_EXACT || need > SCRATCH_KEEP ? need : SCRATCH_KEEP;
        if (!(c = malloc(sizeof(*c) + (size ? size : 1))))
            return NULL;
        c->prev = top;
        /* the old chunk's unused tail counts as handed out, so marks stay monotonic */
        c->base = top ? top->base + top->size : 0;
        c->size = size;
        c->used = need;
    }
    if (!top) {
        pthread_once(&exit_once, make_key);
        if (exit_key)
            pthread_setspecific(exit_key, c);
    }
    top = c;
    return c->data;
}

void *nd_scratch_calloc(size_t n, size_t size)
{
    void *p;
    if (size && n > ((size_t)-1 >> 2) / size)
        return NULL;
    if ((p = nd_scratch_alloc(n * size)))
        memset(p, 0, n * size);
    return p;
}

void nd_scratch_release(size_t mark)
{
    while (top && top->base >= mark && (top->prev || SCRATCH_EXACT || top->size > SCRATCH_KEEP)) {
        struct chunk *prev = top->prev;
        free(top);
        top = prev;
    }
    if (!top) {
        if (exit_key)
            pthread_setspecific(exit_key, NULL);
        return;
    }
    if (top->base + top->used > mark)
        top->used = mark > top->base ? mark - top->base : 0;
    if (exit_key && !top->prev)
        pthread_setspecific(exit_key, top);
}
