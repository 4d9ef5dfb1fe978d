/* Who may see the board: anyone when neither board.token nor board.password is set; else a request
 * with the token (Authorization: Bearer, the board's cookie, or ?token= once, which sets the
 * cookie, since a browser's EventSource cannot send headers of its own) or with the password
 * (HTTP basic authentication, any user name; the browser then sends it on every request). */
#include "board/board_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define COOKIE "newsd_board"
#define SECRET_MAX 1024

int nd_board_secret_eq(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    unsigned char diff = (unsigned char)(la != lb);
    /* every byte of the longer is read whatever the others are: no early exit to time */
    for (size_t i = 0; i < (la > lb ? la : lb); i++)
        diff |= (unsigned char)(a[i < la ? i : 0] ^ b[i < lb ? i : 0]);
    return !diff;
}

static int b64_value(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    return c == '+' ? 62 : c == '/' ? 63 : -1;
}

int nd_board_base64_decode(const char *in, char *out, size_t outsz)
{
    size_t n = 0, len = strlen(in);
    unsigned acc = 0;
    int bits = 0;

    while (len && in[len - 1] == '=')
        len--;
    if (strlen(in) % 4)
        return -1;
    for (size_t i = 0; i < len; i++) {
        int v = b64_value((unsigned char)in[i]);
        if (v < 0)
            return -1;
        acc = (acc << 6) | (unsigned)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (n + 1 >= outsz)
                return -1;
            out[n++] = (char)((acc >> bits) & 0xFF);
        }
    }
    out[n] = '\0';
    return (int)n;
}

/* The value of cookie `name` in a Cookie header into out; 0 when present. */
static int cookie_value(const char *header, const char *name, char *out, size_t outsz)
{
    size_t nlen = strlen(name);
    for (const char *p = header; p && *p;) {
        while (*p == ' ' || *p == ';')
            p++;
        if (!strncmp(p, name, nlen) && p[nlen] == '=') {
            size_t vlen = strcspn(p + nlen + 1, ";");
            if (vlen >= outsz)
                return -1;
            memcpy(out, p + nlen + 1, vlen);
            out[vlen] = '\0';
            return 0;
        }
        p = strchr(p, ';');
    }
    return -1;
}

static int token_ok(const char *token, const struct nd_board_creds *creds, char **cookie)
{
    const char *auth = creds->authorization, *arg = creds->token_arg;
    char value[SECRET_MAX];

    if (auth && !strncasecmp(auth, "Bearer ", 7) && nd_board_secret_eq(auth + 7, token))
        return 1;
    if (!cookie_value(creds->cookie, COOKIE, value, sizeof(value)) &&
        nd_board_secret_eq(value, token))
        return 1;
    if (arg && nd_board_secret_eq(arg, token)) {
        /* the token is the cookie's value: only characters a cookie may carry */
        if (cookie && !token[strcspn(token, " \t\r\n;,\"\\")]) {
            size_t n = strlen(token) + 64;
            *cookie = nd_xmalloc(n);
            snprintf(*cookie, n, COOKIE "=%s; Path=/board; HttpOnly; SameSite=Strict", token);
        }
        return 1;
    }
    return 0;
}

static int password_ok(const char *password, const struct nd_board_creds *creds)
{
    const char *auth = creds->authorization;
    char decoded[SECRET_MAX];
    const char *colon;
    if (!auth || strncasecmp(auth, "Basic ", 6) ||
        nd_board_base64_decode(auth + 6, decoded, sizeof(decoded)) < 0 ||
        !(colon = strchr(decoded, ':')))
        return 0;
    return nd_board_secret_eq(colon + 1, password);
}

int nd_board_auth(const char *token, const char *password, const struct nd_board_creds *creds,
                  char **cookie)
{
    int has_token = token && *token, has_password = password && *password;
    if (cookie)
        *cookie = NULL;
    if (!has_token && !has_password)
        return 1;
    return (has_token && token_ok(token, creds, cookie)) ||
           (has_password && password_ok(password, creds));
}
