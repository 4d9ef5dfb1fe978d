/* The board's page: the files of web/board/, embedded at build time (scripts/embed_assets.cmake
 * writes the generated board_assets.c in the build tree). */
#ifndef ND_BOARD_ASSETS_H
#define ND_BOARD_ASSETS_H

#include <stddef.h>

struct nd_board_asset {
    const char *name; /* "index.html" */
    const unsigned char *data;
    size_t len;
};
extern const struct nd_board_asset nd_board_assets[];
extern const size_t nd_board_nassets;

#endif
