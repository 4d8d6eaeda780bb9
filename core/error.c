/* Version and error tables, generated from EVBUS_ERRNO_MAP so they cannot drift. */
#include "evbus/evbus.h"

int evbus_version(void) { return EVBUS_VERSION_HEX; }
const char *evbus_version_str(void) { return EVBUS_VERSION_STR; }

const char *evbus_strerror(evbus_err_t err) {
    switch (err) {
#define EVBUS__ERR_STR(name, code, msg) case EVBUS_##name: return msg;
        EVBUS_ERRNO_MAP(EVBUS__ERR_STR)
#undef EVBUS__ERR_STR
    default:
        return "Unknown error";
    }
}

const char *evbus_err_name(evbus_err_t err) {
    switch (err) {
#define EVBUS__ERR_NAME(name, code, msg) case EVBUS_##name: return #name;
        EVBUS_ERRNO_MAP(EVBUS__ERR_NAME)
#undef EVBUS__ERR_NAME
    default:
        return "ERR_UNKNOWN";
    }
}
