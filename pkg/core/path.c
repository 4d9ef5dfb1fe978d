/* Paths in capped buffers, and where newsd's data (models, desks, demo feeds) lives relative to the
 * executable, so an installed binary needs no knowledge of the tree it was built from. */
#include "core/core.h"

#include <string.h>
#include <unistd.h>

/* The install layout's data folder relative to its bin folder ("../share" for GNUInstallDirs);
 * CMake passes the real one. */
#ifndef ND_DATADIR_REL
#define ND_DATADIR_REL "../share"
#endif

enum nd_err nd_path_join(struct nd_buf *path, const char *dir, const char *name)
{
    nd_buf_init(path, ND_PATH_MAX);
    return nd_buf_appendf(path, "%s/%s", dir, name);
}

/* The folder of the running executable, from /proc/self/exe (readlink does not NUL-terminate, and
 * a result that fills the buffer may be cut). */
static enum nd_err exe_dir(struct nd_buf *dir)
{
    char exe[ND_PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe));
    char *slash;

    nd_buf_init(dir, ND_PATH_MAX);
    if (n <= 0)
        return ND_ERR_NOTFOUND;
    if ((size_t)n >= sizeof(exe))
        return ND_ERR_TOOBIG;
    exe[n] = '\0';
    if (!(slash = strrchr(exe, '/')))
        return ND_ERR_NOTFOUND;
    return nd_buf_append(dir, exe, (size_t)(slash - exe));
}

/* dir/rel/newsd/name into path, each leading "../" of rel taken off dir (/usr/bin + ../share is
 * /usr/share: the path an error names reads plainly); ND_OK when it exists, ND_ERR_NOTFOUND when not. */
static enum nd_err candidate(struct nd_buf *path, const char *dir, const char *rel, const char *name)
{
    size_t dirlen = strlen(dir);
    enum nd_err err;
    while (!strncmp(rel, "../", 3) && dirlen > 0) {
        while (dirlen > 0 && dir[dirlen - 1] != '/')
            dirlen--;
        if (dirlen > 0)
            dirlen--; /* the slash */
        rel += 3;
    }
    nd_buf_reset(path);
    if ((err = nd_buf_appendf(path, "%.*s/%s/newsd/%s", (int)dirlen, dir, rel, name)) != ND_OK)
        return err;
    return access(path->data, F_OK) == 0 ? ND_OK : ND_ERR_NOTFOUND;
}

enum nd_err nd_path_data(struct nd_buf *path, const char *name)
{
    struct nd_buf dir;
    enum nd_err err;

    nd_buf_init(path, ND_PATH_MAX);
    if ((err = exe_dir(&dir)) != ND_OK)
        goto out;
    if ((err = candidate(path, dir.data, ND_DATADIR_REL, name)) != ND_ERR_NOTFOUND)
        goto out;
    if ((err = candidate(path, dir.data, "share", name)) != ND_ERR_NOTFOUND)
        goto out;
    candidate(path, dir.data, ND_DATADIR_REL, name); /* the one to name in an error */
    err = ND_ERR_NOTFOUND;
out:
    nd_buf_free(&dir);
    return err;
}
