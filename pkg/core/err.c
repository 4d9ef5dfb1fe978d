#include "core/core.h"

const char *nd_err_str(enum nd_err err)
{
    switch (err) {
    case ND_OK: return "success";
    case ND_ERR_AGAIN: return "temporary failure, try again";
    case ND_ERR_INVALID: return "invalid input";
    case ND_ERR_NOMEM: return "out of memory";
    case ND_ERR_TOOBIG: return "size limit exceeded";
    case ND_ERR_IO: return "i/o error";
    case ND_ERR_NOTFOUND: return "not found";
    case ND_ERR_FATAL: return "fatal error";
    }
    return "unknown error";
}
