/* Public typed reads of settings (evbus.h): the value or the table default, as the library
 * itself reads them. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

evbus_err_t evbus_conf_get_int(const evbus_conf_t *conf, const char *name, int64_t *valuep) {
    const char *v = conf && name ? evbus__conf_str(conf, name) : NULL;
    if (!v || !*v || !valuep)
        return EVBUS_ERR_INVALID_ARG;
    char *end;
    errno = 0;
    long long n = strtoll(v, &end, 10);
    if (errno || *end)
        return EVBUS_ERR_INVALID_ARG;
    *valuep = n;
    return EVBUS_OK;
}

evbus_err_t evbus_conf_get_bool(const evbus_conf_t *conf, const char *name, int *valuep) {
    const char *v = conf && name ? evbus__conf_str(conf, name) : NULL;
    if (!v || !valuep)
        return EVBUS_ERR_INVALID_ARG;
    /* conf.c's parse_bool accepts these at set time; anything stored is one of them */
    if (!strcmp(v, "true") || !strcmp(v, "1") || !strcmp(v, "yes"))
        *valuep = 1;
    else if (!strcmp(v, "false") || !strcmp(v, "0") || !strcmp(v, "no"))
        *valuep = 0;
    else
        return EVBUS_ERR_INVALID_ARG;
    return EVBUS_OK;
}

const char *evbus_conf_wire_format(const evbus_conf_t *conf) {
    return evbus__wire_format_name(conf ? evbus__conf_wire_format(conf) : EVBUS__WIRE_SINGLE_OBJECT);
}
