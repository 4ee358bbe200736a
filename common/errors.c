/* Messages and names of cairn_err_t, generated from the one list in errors.h. */
#include "errors.h"

const char *cairn_strerror(int code)
{
    switch (code) {
#define CAIRN_ERR_MSG(name, num, msg) case num: return msg;
    CAIRN_ERRORS(CAIRN_ERR_MSG)
#undef CAIRN_ERR_MSG
    default: return "unknown error";
    }
}

const char *cairn_errname(int code)
{
    switch (code) {
#define CAIRN_ERR_NAME(name, num, msg) case num: return #name;
    CAIRN_ERRORS(CAIRN_ERR_NAME)
#undef CAIRN_ERR_NAME
    default: return "UNKNOWN";
    }
}
