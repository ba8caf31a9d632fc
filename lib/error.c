/* mcring_strerror / mcring_err_name from the one list in mcring/errors.h. */
#include <stdarg.h>
#include <stdio.h>

#include "error.h"

const char *mcring_strerror(int code)
{
    switch (code) {
    case MCRING_OK:
        return "success";
    case MCRING_MISS:
        return "not found";
    case MCRING_UNDECODABLE:
        return "found, but the value cannot be decoded";
    case MCRING_NOT_STORED:
        return "not stored: add found the key, or replace, append or "
               "prepend did not";
    case MCRING_CONF_MISSING:
        return "no such memcache.conf: nothing loaded";
    case MCRING_EXISTS:
        return "not stored: the CAS token no longer matches";
    case MCRING_NOT_FOUND:
        return "not found";
    case MCRING_STALE:
        return "stale value: another caller is refreshing it";
    case MCRING_WON:
        return "lease won: refill the key";
    case MCRING_WAIT:
        return "another caller is filling the key: wait";
#define XX(name, val, msg)                                                     \
    case MCRING_##name:                                                        \
        return msg;
        MCRING_ERRNO_MAP(XX)
#undef XX
    default:
        return "unknown error";
    }
}

const char *mcring_err_name(int code)
{
    switch (code) {
    case MCRING_OK:
        return "MCRING_OK";
    case MCRING_MISS:
        return "MCRING_MISS";
    case MCRING_UNDECODABLE:
        return "MCRING_UNDECODABLE";
    case MCRING_NOT_STORED:
        return "MCRING_NOT_STORED";
    case MCRING_CONF_MISSING:
        return "MCRING_CONF_MISSING";
    case MCRING_EXISTS:
        return "MCRING_EXISTS";
    case MCRING_NOT_FOUND:
        return "MCRING_NOT_FOUND";
    case MCRING_STALE:
        return "MCRING_STALE";
    case MCRING_WON:
        return "MCRING_WON";
    case MCRING_WAIT:
        return "MCRING_WAIT";
#define XX(name, val, msg)                                                     \
    case MCRING_##name:                                                        \
        return "MCRING_" #name;
        MCRING_ERRNO_MAP(XX)
#undef XX
    default:
        return "MCRING_UNKNOWN";
    }
}

int err_set(char *err, size_t errlen, int code, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return code;
}
