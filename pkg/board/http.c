/* The board's routes under /board: the page, its stream, the story view. Read-only (the server
 * answers only GET and HEAD), and every answer carries a Content-Security-Policy that lets the page
 * load nothing but its own files: a story's text cannot bring in a script even if it reached the
 * DOM as markup (the page puts it there as text). */
#include "board/assets.h"
#include "board/board_int.h"

#include <stdlib.h>
#include <string.h>

#define CSP "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

static const char *content_type(const char *name)
{
    const char *dot = strrchr(name, '.');
    if (dot && !strcmp(dot, ".html"))
        return "text/html; charset=utf-8";
    if (dot && !strcmp(dot, ".css"))
        return "text/css; charset=utf-8";
    if (dot && !strcmp(dot, ".js"))
        return "text/javascript; charset=utf-8";
    if (dot && !strcmp(dot, ".svg"))
        return "image/svg+xml";
    return "application/octet-stream";
}

static void not_found(struct nd_server_reply *reply)
{
    reply->status = 404;
    nd_buf_appendf(&reply->body, "not found: the board serves /board, /board/events and "
                                 "/board/story/ID\n");
}

static void asset(const char *name, struct nd_server_reply *reply)
{
    for (size_t i = 0; i < nd_board_nassets; i++)
        if (!strcmp(nd_board_assets[i].name, name)) {
            reply->status = 200;
            reply->content_type = content_type(name);
            nd_buf_append(&reply->body, nd_board_assets[i].data, nd_board_assets[i].len);
            return;
        }
    not_found(reply);
}

static void story(struct nd_board *board, const char *id, struct nd_server_reply *reply)
{
    enum nd_err err;
    size_t n = strspn(id, "0123456789abcdef");
    if (!n || n > 32 || id[n]) {
        not_found(reply);
        return;
    }
    pthread_mutex_lock(&board->lock);
    err = nd_board_stories_record(board->stories, id, &reply->body);
    pthread_mutex_unlock(&board->lock);
    if (err != ND_OK) {
        nd_buf_reset(&reply->body);
        reply->status = 404;
        nd_buf_appendf(&reply->body,
                       "story %s is not among the recent ones the board keeps "
                       "(board.story_cache)\n",
                       id);
        return;
    }
    reply->status = 200;
    reply->content_type = "application/json";
}

static void unauthorized(const struct nd_config *conf, struct nd_server_reply *reply)
{
    reply->status = 401;
    nd_server_reply_header(reply, "WWW-Authenticate",
                           *conf->board_password ? "Basic realm=\"newsd board\", charset=\"UTF-8\""
                                                 : "Bearer realm=\"newsd board\"");
    nd_buf_appendf(&reply->body, "the board wants %s\n",
                   *conf->board_password ? "the board password" : "the board token");
}

void nd_board_route(void *opaque, const char *path, const struct nd_server_req *req,
                    struct nd_server_reply *reply)
{
    struct nd_board *board = opaque;
    const struct nd_config *conf = board->conf;
    struct nd_board_creds creds = {nd_server_req_header(req, "Authorization"),
                                   nd_server_req_header(req, "Cookie"),
                                   nd_server_req_arg(req, "token")};
    char *cookie = NULL;

    nd_server_reply_header(reply, "Content-Security-Policy", CSP);
    nd_server_reply_header(reply, "X-Content-Type-Options", "nosniff");
    nd_server_reply_header(reply, "Referrer-Policy", "no-referrer");
    if (!nd_board_auth(conf->board_token, conf->board_password, &creds, &cookie)) {
        unauthorized(conf, reply);
        return;
    }
    if (cookie) {
        /* the token leaves the address bar (and the history) for a cookie */
        nd_server_reply_header(reply, "Set-Cookie", cookie);
        nd_server_reply_header(reply, "Location", "/board");
        reply->status = 303;
        free(cookie);
        return;
    }
    path += strlen("/board");
    if (!*path || !strcmp(path, "/"))
        asset("index.html", reply);
    else if (!strcmp(path, "/events"))
        nd_board_stream(board, req, reply);
    else if (!strncmp(path, "/story/", 7))
        story(board, path + 7, reply);
    else if (!strchr(path + 1, '/'))
        asset(path + 1, reply);
    else
        not_found(reply);
}
